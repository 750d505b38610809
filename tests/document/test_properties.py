"""Properties of the document core, with hypothesis.

Strategies build documents from the catalogue that reach every limit, then mutate them across
the limits, into wrong types and unknown keys. The properties: the validator never raises;
whatever it accepts botocore's own ParamValidator accepts too; parse → serialise → parse is a
fixed point; normalisation is idempotent and order-blind; a DescribeFramework-shaped answer
hashes like the document that produced it.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frameworks.document import (
    DocumentError,
    content_hash,
    has_errors,
    normalise,
    parse,
    to_api,
    update_kwargs,
    validate,
    validate_data,
)
from frameworks.document.catalog import (
    CONTROLS,
    RESOURCE_TYPES,
    SCOPE_RESOURCE,
    SCOPE_TAG,
    SCOPE_TYPES,
    ControlSpec,
    ParameterSpec,
)

from .builders import create_arguments

SETTINGS = settings(
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_MODEL = botocore.session.get_session().get_service_model("backup")
UPDATE_SHAPE = _MODEL.operation_model("UpdateFramework").input_shape
CREATE_SHAPE = _MODEL.operation_model("CreateFramework").input_shape

REGIONS = ["eu-west-1", "eu-west-2", "us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
ACCOUNTS = [
    "111122223333",
    "444455556666",
    "777788889999",
    "123456789012",
    "210987654321",
    "000000000001",
]
ROLES = [f"arn:aws:iam::111122223333:role/Backup{n}" for n in range(8)]
POOLS = {"region_list": REGIONS, "account_list": ACCOUNTS, "arn_list": ROLES}

bmp_text = st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",))
names = st.from_regex(r"[a-zA-Z][_a-zA-Z0-9]{0,255}", fullmatch=True)
descriptions = st.text(bmp_text, min_size=1, max_size=1024).filter(lambda s: not s.isspace())
tag_keys = st.text(bmp_text, min_size=1, max_size=128)
tag_values = st.text(bmp_text, max_size=256)
vault_names = st.from_regex(r"[a-zA-Z0-9_-]{2,50}", fullmatch=True)
resource_ids = st.from_regex(r"[a-z][a-z0-9-]{0,40}", fullmatch=True)


@st.composite
def parameter_values(draw: st.DrawFn, spec: ControlSpec) -> list[dict[str, str]]:
    """Valid values for some of the control's parameters, reaching the ends of each range."""
    chosen: dict[str, str] = {}
    for name, parameter in spec.parameters.items():
        if parameter.kind == "choice" and draw(st.booleans()):
            chosen[name] = draw(st.sampled_from(parameter.choices))
    for name, parameter in spec.parameters.items():
        if parameter.kind == "choice" or not draw(st.booleans()):
            continue
        chosen[name] = draw(_value(parameter, spec, chosen))
    low, high = chosen.get("minRetentionDays"), chosen.get("maxRetentionDays")
    if low and high and int(high) < int(low):
        chosen["maxRetentionDays"] = low
    items = [{"ParameterName": k, "ParameterValue": v} for k, v in chosen.items()]
    return draw(st.permutations(items))


def _value(
    parameter: ParameterSpec, spec: ControlSpec, chosen: dict[str, str]
) -> st.SearchStrategy[str]:
    if parameter.kind == "int":
        unit = None
        if parameter.unit_parameter:
            unit = (
                chosen.get(parameter.unit_parameter)
                or spec.parameters[parameter.unit_parameter].default
            )
        low, high = parameter.bounds(unit)
        low = low or 1
        high = high or 10**6
        return st.one_of(st.sampled_from([low, high]), st.integers(low, high)).map(str)
    pool = POOLS[parameter.kind]
    size = parameter.max_items or 5
    return st.lists(st.sampled_from(pool), min_size=1, max_size=size, unique=True).map(",".join)


@st.composite
def scopes(draw: st.DrawFn, spec: ControlSpec) -> dict[str, Any] | None:
    """A scope the control accepts: none, empty, types, a tag, named resources, types + tag."""
    options = ["none", "empty", *sorted(spec.scope_kinds)]
    if {SCOPE_TYPES, SCOPE_TAG} <= spec.scope_kinds:
        options.append("types+tag")
    kind = draw(st.sampled_from(options))
    if kind == "none":
        return None
    if kind == "empty":
        return draw(st.sampled_from([{}, {"ComplianceResourceTypes": []}, {"Tags": {}}]))
    scope: dict[str, Any] = {}
    if kind in (SCOPE_TYPES, "types+tag"):
        scope["ComplianceResourceTypes"] = draw(
            st.lists(st.sampled_from(RESOURCE_TYPES), min_size=1, max_size=5, unique=True)
        )
    if kind in (SCOPE_TAG, "types+tag"):
        scope["Tags"] = {draw(tag_keys): draw(tag_values)}
    if kind == SCOPE_RESOURCE:
        if spec.resource_scope_types:
            scope["ComplianceResourceTypes"] = [spec.resource_scope_types[0]]
            ids = vault_names
        else:
            scope["ComplianceResourceTypes"] = [draw(st.sampled_from(RESOURCE_TYPES))]
            ids = resource_ids
        count = draw(st.sampled_from([1, 2, 100]))
        if count == 100:
            scope["ComplianceResourceIds"] = [f"id-{n:03d}" for n in range(100)]
        else:
            scope["ComplianceResourceIds"] = draw(
                st.lists(ids, min_size=count, max_size=count, unique=True)
            )
    return scope


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    """API-form documents the validator must accept (warnings allowed)."""
    controls = []
    for name in draw(
        st.lists(st.sampled_from(sorted(CONTROLS)), min_size=1, max_size=6, unique=True)
    ):
        spec = CONTROLS[name]
        item: dict[str, Any] = {"ControlName": name}
        parameters = draw(parameter_values(spec))
        if parameters or draw(st.booleans()):
            item["ControlInputParameters"] = parameters
        scope = draw(scopes(spec))
        if scope is not None:
            item["ControlScope"] = scope
        controls.append(item)
    data: dict[str, Any] = {"FrameworkControls": controls}
    name = draw(st.none() | names)
    if name is not None:
        data["FrameworkName"] = name
    description = draw(st.none() | descriptions)
    if description is not None:
        data["FrameworkDescription"] = description
    return data


MUTATIONS = [
    lambda d, r: d.__setitem__("FrameworkName", r.choice(["", "a-b", "1a", "x" * 257, 7, None])),
    lambda d, r: d.__setitem__("FrameworkDescription", r.choice(["", " ", "x" * 1025, ["x"]])),
    lambda d, r: d.__setitem__("FrameworkControls", r.choice([[], "x", [None], [{}]])),
    lambda d, r: d.__setitem__(r.choice(["Unknown", "frameworkName", "Tags"]), "x"),
    lambda d, r: d["FrameworkControls"][0].__setitem__(
        "ControlName", r.choice(["", "NOPE", 3, "x" * 300])
    ),
    lambda d, r: d["FrameworkControls"][0].__setitem__(
        "ControlScope",
        r.choice(
            [
                {"ComplianceResourceIds": []},
                {
                    "ComplianceResourceIds": [f"i{n}" for n in range(101)],
                    "ComplianceResourceTypes": ["EBS"],
                },
                {"ComplianceResourceIds": ["i"]},
                {"Tags": {"a": "1", "b": "2"}},
                {"Tags": [{"Key": "a"}]},
                {"ComplianceResourceTypes": [""]},
                {"ComplianceResourceTypes": "EBS"},
                {"Bogus": 1},
                [],
            ]
        ),
    ),
    lambda d, r: d["FrameworkControls"][0].__setitem__(
        "ControlInputParameters",
        r.choice(
            [
                [
                    {
                        "ParameterName": "requiredRetentionDays",
                        "ParameterValue": r.choice(["0", "", " 3", "x", 3]),
                    }
                ],
                [
                    {
                        "ParameterName": "requiredFrequencyValue",
                        "ParameterValue": r.choice(["25", "32", "0"]),
                    },
                    {
                        "ParameterName": "requiredFrequencyUnit",
                        "ParameterValue": r.choice(["hours", "days"]),
                    },
                ],
                [{"ParameterName": "principalArnList", "ParameterValue": ",".join(ROLES[:6])}],
                [{"ParameterName": "crossRegionList", "ParameterValue": "eu-west-1, eu-west-2"}],
                [{"ParameterName": "nope", "ParameterValue": "1"}],
                [{"ParameterValue": "1"}],
                "x",
                [None],
            ]
        ),
    ),
    lambda d, r: d["FrameworkControls"].append(copy.deepcopy(d["FrameworkControls"][0])),
]


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """Valid documents pushed across a limit, into a wrong type or an unknown key."""
    data = draw(valid_documents())
    rng = random.Random(draw(st.integers(0, 2**32)))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        controls = data.get("FrameworkControls")
        # Once a mutation has broken the control list, the ones that edit a control skip.
        if isinstance(controls, list) and controls and isinstance(controls[0], dict):
            mutation(data, rng)
    return data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=25), children, max_size=4)
    ),
    max_leaves=25,
)

framework_keys = st.sampled_from(
    [
        "FrameworkName",
        "FrameworkDescription",
        "FrameworkControls",
        "FrameworkTags",
        "ControlName",
        "ControlScope",
        "ControlInputParameters",
        "Tags",
        "ComplianceResourceIds",
        "Type",
        "Properties",
    ]
)
shaped_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(framework_keys, children, max_size=4)
    ),
    max_leaves=30,
)


def _botocore_accepts(data: Any) -> None:
    doc = parse(data)
    name = doc.name or "generated_name"
    for params, shape in (
        (update_kwargs(doc, name), UPDATE_SHAPE),
        (create_arguments(parse({**to_api(doc), "FrameworkName": name})), CREATE_SHAPE),
    ):
        report = ParamValidator().validate(params, shape)
        assert not report.has_errors(), report.generate_report()


@SETTINGS
@given(valid_documents())
def test_documents_built_from_the_catalogue_are_accepted_and_pass_botocore(
    data: dict[str, Any],
) -> None:
    findings = validate_data(data)
    assert not has_errors(findings), [str(f) for f in findings]
    _botocore_accepts(data)


@SETTINGS
@given(mutated_documents() | shaped_junk | json_values)
def test_whatever_the_validator_accepts_botocore_accepts(data: Any) -> None:
    findings = validate_data(data)  # never raises
    assert all(f.severity in ("error", "warning") for f in findings)
    if not has_errors(findings):
        _botocore_accepts(data)


@SETTINGS
@given(valid_documents() | mutated_documents() | shaped_junk)
def test_parse_serialise_parse_is_a_fixed_point(data: Any) -> None:
    try:
        doc = parse(data)
    except DocumentError as error:
        assert error.findings
        return
    api = to_api(doc)
    again = parse(api)
    assert again == doc
    assert to_api(again) == api


@SETTINGS
@given(valid_documents() | mutated_documents(), st.randoms(use_true_random=False))
def test_normalisation_is_idempotent_and_order_blind(data: Any, rng: random.Random) -> None:
    try:
        doc = parse(data)
    except DocumentError:
        return
    normal = normalise(doc)
    assert normalise(normal) == normal
    assert content_hash(normal) == content_hash(doc)
    shuffled = copy.deepcopy(doc)
    rng.shuffle(shuffled.controls)
    for control in shuffled.controls:
        rng.shuffle(control.parameters)
        if control.scope is not None:
            for items in (control.scope.resource_ids, control.scope.resource_types):
                if items:
                    rng.shuffle(items)
    assert normalise(shuffled) == normal
    assert content_hash(shuffled) == content_hash(doc)


def _describe_answer(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """What DescribeFramework returns for ``data``: empties as "", [] and {}, any order."""
    controls = []
    for item in data["FrameworkControls"]:
        parameters = list(item.get("ControlInputParameters") or [])
        rng.shuffle(parameters)
        scope = dict(item.get("ControlScope") or {})
        for key in ("ComplianceResourceIds", "ComplianceResourceTypes"):
            if key in scope:
                scope[key] = rng.sample(scope[key], len(scope[key]))
            elif rng.random() < 0.5:
                scope[key] = []
        if "Tags" not in scope and rng.random() < 0.5:
            scope["Tags"] = {}
        controls.append(
            {
                "ControlName": item["ControlName"],
                "ControlInputParameters": parameters,
                "ControlScope": scope,
            }
        )
    rng.shuffle(controls)
    return {
        "FrameworkName": data.get("FrameworkName", "generated_name"),
        "FrameworkArn": "arn:aws:backup:eu-west-1:111122223333:framework:x-1234",
        "FrameworkDescription": data.get("FrameworkDescription", ""),
        "FrameworkControls": controls,
        "CreationTime": 1633463605.233,
        "DeploymentStatus": "COMPLETED",
        "FrameworkStatus": "ACTIVE",
        "IdempotencyToken": "token",
    }


@SETTINGS
@given(valid_documents(), st.randoms(use_true_random=False))
def test_a_describe_answer_hashes_like_the_document_that_produced_it(
    data: dict[str, Any], rng: random.Random
) -> None:
    answer = _describe_answer(data, rng)
    assert content_hash(parse(answer)) == content_hash(parse(data))
    assert normalise(parse(answer)).controls == normalise(parse(data)).controls


@SETTINGS
@given(valid_documents())
def test_validation_of_a_parsed_document_matches_validate_data(data: dict[str, Any]) -> None:
    assert validate(parse(data)) == validate_data(data)
