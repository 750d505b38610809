import gc, tracemalloc
import pytest
from frameworks import apply, document
from frameworks.models import ChangeRequest, ChangeKind, ChangeState, DocumentVersion, Framework, Target
from tests.applying import create_in_aws, controls
from frameworks import services
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True)]

def approve_round(target, names, r):
    now = timezone.now()
    out = []
    for i, name in enumerate(names):
        f = Framework.objects.get(target=target, name=name)
        base = DocumentVersion.record(document.parse(f.api_document()))
        working = {"FrameworkName": name, "FrameworkControls": controls(10000 + r * 100 + i)}
        prop = DocumentVersion.record(document.parse(working))
        out.append(ChangeRequest.objects.create(kind=ChangeKind.UPDATE, target=target, framework_name=name, framework=f, base_version=base, proposed_version=prop, working_document=working, author_name="b", state=ChangeState.APPROVED))
    return out

def test_mem(settings, aws_files):
    from backup_emulator.testing import spawned_emulator
    with spawned_emulator(deploy_seconds=0, max_frameworks=100, max_controls=500) as emu:
        target = Target.objects.create(slug="p", display_name="P", region="eu-west-1", profile="acct1", endpoint_url=emu.url)
        names = [f"fw{i}" for i in range(20)]
        for i, n in enumerate(names): create_in_aws(target, n, 100 + i)
        services.target_sync(target_id=target.pk)
        for r in range(3):
            for c in approve_round(target, names, r): apply.change_request_apply(change_id=c.pk, task_id="t")
        gc.collect(); tracemalloc.start(25); s1 = tracemalloc.take_snapshot()
        for r in range(3, 23):
            for c in approve_round(target, names, r): apply.change_request_apply(change_id=c.pk, task_id="t")
        gc.collect(); s2 = tracemalloc.take_snapshot()
        stats = s2.compare_to(s1, "traceback")
        for st in stats[:6]:
            print(st)
            for line in st.traceback.format()[-12:]: print("   ", line)
