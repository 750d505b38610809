"""The import layering, read from the source with ``ast``: every ``import`` and ``from``, at
module level and inside functions (an import deferred into a function is still an arrow).

The layers, bottom up: the document core; ``aws`` (the only boto3 user); models; services;
the read side (``queries``) and the worker (``apply``, ``tasks``); forms; views, routed by
``urls``. The emulator stands apart: AWS's side, sharing no code with the product.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("frameworks", "config")
EMULATOR = "backup_emulator"

# Packages whose ``__init__`` is a face for the callers above them.
FACES = (
    "frameworks.document",
    "frameworks.models",
    "frameworks.services",
    "frameworks.forms",
    "frameworks.views",
)
# The core and the domain: never an arrow up to input handling or presentation.
LOWER = (
    "frameworks.document",
    "frameworks.aws",
    "frameworks.models",
    "frameworks.services",
    "frameworks.queries",
    "frameworks.history",
    "frameworks.access",
    "frameworks.apply",
    "frameworks.tasks",
    "frameworks.notifications",
)
UPPER = ("frameworks.views", "frameworks.forms", "frameworks.templatetags")
# Modules in views/ that route nothing: what the view modules share.
VIEW_HELPERS = (
    "frameworks.views.diffs",
    "frameworks.views.editing",
    "frameworks.views.http",
    "frameworks.views.refusals",
)
# What the document core may read of botocore: the service model, nothing that calls AWS.
BOTOCORE_MODEL = ("botocore", "botocore.session", "botocore.loaders", "botocore.model")


@dataclass(frozen=True)
class Import:
    importer: str  # the module that imports
    imported: str  # the module it names, resolved to a module where one exists
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(*packages: str) -> list[Path]:
    files = []
    for package in packages:
        files += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def known_modules() -> set[str]:
    return {module_name(p) for p in source_files(*PRODUCT, EMULATOR)}


def imports_in(path: Path, modules: set[str]) -> Iterator[Import]:
    """Every import in the file at `path`. ``from a import b`` names ``a.b`` when that is a
    module of ours (a submodule), otherwise ``a`` (a name from a's face)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(name, sub if sub in modules else base, node.lineno)


def all_imports(*packages: str) -> list[Import]:
    modules = known_modules()
    return [i for path in source_files(*packages) for i in imports_in(path, modules)]


def within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_import_reader_sees_imports_at_module_level_and_inside_functions() -> None:
    source = ROOT / "frameworks" / "services" / "review.py"
    found = {i.imported for i in imports_in(source, known_modules())}
    # A module-level import, a face name, and the import deferred into _enqueue_apply.
    assert {"frameworks.services.base", "frameworks.history", "frameworks.tasks"} <= found


def test_the_document_core_imports_no_django_and_no_boto3() -> None:
    bad = [
        i
        for i in all_imports("frameworks/document")
        if within(i.imported, "django", "boto3", "frameworks.aws")
        or (within(i.imported, "botocore") and i.imported not in BOTOCORE_MODEL)
        or (within(i.imported, "frameworks") and not within(i.imported, "frameworks.document"))
    ]
    assert not bad, "\n".join(map(str, bad))


def test_only_the_aws_module_imports_boto3() -> None:
    bad = [
        i
        for i in all_imports(*PRODUCT, EMULATOR)
        if within(i.imported, "boto3", "mypy_boto3_backup") and i.importer != "frameworks.aws"
    ]
    assert not bad, "\n".join(map(str, bad))


def test_the_product_never_imports_the_emulator() -> None:
    bad = [i for i in all_imports(*PRODUCT) if within(i.imported, EMULATOR)]
    assert not bad, "\n".join(map(str, bad))


def test_the_emulator_never_imports_the_product() -> None:
    bad = [i for i in all_imports(EMULATOR) if within(i.imported, *PRODUCT)]
    assert not bad, "\n".join(map(str, bad))


def test_only_the_url_configuration_imports_a_view_module() -> None:
    def allowed(i: Import) -> bool:
        if i.importer == "frameworks.urls":
            return True
        # The view modules share helpers that route nothing.
        return within(i.importer, "frameworks.views") and i.imported in VIEW_HELPERS

    bad = [
        i
        for i in all_imports(*PRODUCT)
        if within(i.imported, "frameworks.views") and i.imported != "frameworks.views"
        if not allowed(i)
    ]
    assert not bad, "\n".join(map(str, bad))


@pytest.mark.parametrize("face", FACES)
def test_nothing_below_a_face_imports_the_face(face: str) -> None:
    bad = [
        i for i in all_imports(face.replace(".", "/")) if i.importer != face and i.imported == face
    ]
    assert not bad, "\n".join(map(str, bad))


def test_the_core_and_the_domain_never_import_forms_views_or_template_tags() -> None:
    bad = [
        i
        for i in all_imports(*PRODUCT)
        if within(i.importer, *LOWER) and within(i.imported, *UPPER)
    ]
    assert not bad, "\n".join(map(str, bad))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_circle_and_only_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}}) == []


def test_the_product_modules_import_one_another_without_a_circle() -> None:
    modules = known_modules()
    edges: dict[str, set[str]] = {}
    for i in all_imports(*PRODUCT):
        if i.imported in modules and i.imported != i.importer:
            edges.setdefault(i.importer, set()).add(i.imported)
    assert cycles(edges) == []
