"""Scope expressions: satisfaction, templates, explanations (taskcluster-lib-scopes/-api)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcdyn.scopes import (
    Check,
    ScopeExpressionError,
    check,
    describe,
    params_of,
    remove_given,
    render,
    satisfies,
    scope_match,
    validate,
)

CREATE_TASK = {"AllOf": [
    {"each": "<scope>", "for": "scope", "in": "scopes"},
    {"each": "queue:route:<route>", "for": "route", "in": "routes"},
    "queue:create-task:project:<projectId>",
    "queue:scheduler-id:<schedulerId>",
    {"AnyOf": [{"each": "queue:create-task:<priority>:<provisionerId>/<workerType>",
                "for": "priority", "in": "priorities"}]},
]}
AWS_S3 = {"if": "levelIsReadOnly",
          "then": {"AnyOf": ["auth:aws-s3:read-only:<bucket>/<prefix>",
                             "auth:aws-s3:read-write:<bucket>/<prefix>"]},
          "else": "auth:aws-s3:read-write:<bucket>/<prefix>"}
TASK_PARAMS = {"scopes": ["docker-worker:cache:x"], "routes": ["index.a.b"],
               "projectId": "proj", "schedulerId": "sched", "priorities": ["high", "lowest"],
               "provisionerId": "prov", "workerType": "wt"}


@pytest.mark.parametrize(("held", "required", "expected"), [
    ("a", "a", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("*", "anything:at:all", True),
    ("*", "", True),
    ("a", "a*", False),
    ("a", "ab", False),
    ("ab*", "a", False),
    ("a*b", "acb", False),
    ("a*", "a*", True),
])
def test_scope_match(held, required, expected):
    assert scope_match(held, required) is expected


# Cases of taskcluster-lib-scopes' expression tests.
NOT_SATISFIED = [
    ([], {"AnyOf": []}),
    ([], "missing-scope"),
    (["wrong-scope"], "missing-scope"),
    (["ghi"], {"AnyOf": ["abc", "def"]}),
    (["ghi*"], {"AnyOf": ["abc", "def"]}),
    (["ghi", "fff"], {"AnyOf": ["abc", "def"]}),
    (["ghi*", "fff*"], {"AnyOf": ["abc", "def"]}),
    (["abc"], {"AnyOf": ["ghi"]}),
    (["abc*"], {"AllOf": ["abc", "ghi"]}),
    ([""], {"AnyOf": ["abc", "def"]}),
    (["abc:def"], {"AnyOf": ["abc", "def"]}),
    (["xyz", "abc"], {"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]}),
    (["a*", "b*", "c*"], {"AllOf": ["bx", "cx", {"AnyOf": ["xxx", "yyyy"]}]}),
]
SATISFIED = [
    ([], {"AllOf": []}),
    (["A"], {"AllOf": ["A"]}),
    (["A", "B"], "A"),
    (["a*", "b*", "c*"], "abc"),
    (["abc"], {"AnyOf": ["abc", "def"]}),
    (["def"], {"AnyOf": ["abc", "def"]}),
    (["abc*"], {"AnyOf": ["abc"]}),
    (["foo"], {"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]}),
    (["a*", "b*", "c*"], {"AnyOf": ["cfoo", "dfoo"]}),
    (["a*", "b*", "c*"], {"AllOf": ["bx", "cx"]}),
    (["a*", "b*", "c*"], {"AnyOf": [{"AllOf": ["ax", "jx"]}, {"AllOf": ["bx", "cx"]}, "bbb"]}),
]


@pytest.mark.parametrize(("held", "expression"), NOT_SATISFIED)
def test_not_satisfied(held, expression):
    assert satisfies(held, expression) is False
    assert check(held, expression).ok is False


@pytest.mark.parametrize(("held", "expression"), SATISFIED)
def test_satisfied(held, expression):
    assert satisfies(held, expression) is True
    assert check(held, expression) == Check(True, None, ())


# removeGivenScopes' explanations.
@pytest.mark.parametrize(("held", "expression", "missing"), [
    ([], {"AllOf": []}, None),
    (["a"], {"AllOf": ["a"]}, None),
    (["a"], {"AllOf": ["a", "b"]}, "b"),
    ([], {"AnyOf": []}, {"AnyOf": []}),
    (["a"], {"AnyOf": ["a", "b"]}, None),
    (["c"], {"AnyOf": ["a", "b"]}, {"AnyOf": ["a", "b"]}),
    (["ghi"], {"AllOf": ["abc", "def", "ghi"]}, {"AllOf": ["abc", "def"]}),
    (["ghi*", "fff*"], {"AnyOf": ["abc", "def"]}, {"AnyOf": ["abc", "def"]}),
    (["xyz", "abc"], {"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]},
     {"AnyOf": ["foo", "bar"]}),
])
def test_remove_given(held, expression, missing):
    assert remove_given(held, expression) == missing


# Rendering cases of taskcluster-lib-api's expression tests.
@pytest.mark.parametrize(("template", "params", "expected"), [
    ({"AnyOf": []}, {}, {"AnyOf": []}),
    ({"AllOf": ["abc:<foo>"]}, {"foo": "hi"}, {"AllOf": ["abc:hi"]}),
    ({"AllOf": ["abc:<foo>:<bar>:<baz>"]}, {"foo": "hi", "bar": "bye", "baz": "bing"},
     {"AllOf": ["abc:hi:bye:bing"]}),
    ({"if": "foo", "then": {"AllOf": ["bar"]}}, {"foo": False}, None),
    ({"if": "foo", "then": {"AllOf": ["bar"]}, "else": "test"}, {"foo": False}, "test"),
    ({"if": "foo", "then": {"AllOf": ["bar:<baz>"]}}, {"foo": True, "baz": "hi"},
     {"AllOf": ["bar:hi"]}),
    ({"AllOf": [{"for": "foo", "in": "bar", "each": "aa:<foo>:<b>"}]},
     {"bar": ["aaa", "bbb"], "b": "q"}, {"AllOf": ["aa:aaa:q", "aa:bbb:q"]}),
    ({"AnyOf": ["abc:<foo>"]}, {"foo": 9}, {"AnyOf": ["abc:9"]}),
    ("x:<n>", {"n": 2.0}, "x:2"),
    ({"AllOf": [{"if": "c", "then": "a"}, "b"]}, {"c": False}, {"AllOf": ["b"]}),
])
def test_render(template, params, expected):
    assert render(template, params) == expected


def test_render_keeps_unknown_parameters():
    assert render(CREATE_TASK, {"projectId": "p", "scopes": ["s1", "s2"]}) == {"AllOf": [
        "s1", "s2",
        {"for": "route", "in": "routes", "each": "queue:route:<route>"},
        "queue:create-task:project:p", "queue:scheduler-id:<schedulerId>",
        {"AnyOf": [{"for": "priority", "in": "priorities",
                    "each": "queue:create-task:<priority>:<provisionerId>/<workerType>"}]}]}
    assert render(AWS_S3, {"bucket": "b"}) == {
        "if": "levelIsReadOnly",
        "then": {"AnyOf": ["auth:aws-s3:read-only:b/<prefix>",
                           "auth:aws-s3:read-write:b/<prefix>"]},
        "else": "auth:aws-s3:read-write:b/<prefix>"}


@pytest.mark.parametrize(("template", "params", "message"), [
    ({"if": "foo", "then": "bar"}, {"foo": "abc"}, r"\$\.if: parameter 'foo' must be a boolean"),
    ({"if": "foo", "then": "bar"}, {"foo": 1}, "must be a boolean, got int"),
    ({"AllOf": [{"for": "f", "in": "bar", "each": "aa:<f>"}]}, {"bar": "a"},
     r"\$\.AllOf\[0\]\.in: parameter 'bar' must be an array of strings, got str"),
    ({"AllOf": [{"for": "f", "in": "bar", "each": "aa:<f>"}]}, {"bar": [["x"]]},
     r"parameter 'bar\[0\]' must be a string or a number, got list"),
    ("abc:<foo>", {"foo": ["a", "b"]}, "parameter 'foo' must be a string or a number, got list"),
    ("abc:<foo>", {"foo": True}, "got bool"),
])
def test_wrong_parameter_types(template, params, message):
    for call in (render, lambda t, p: check(["*"], t, p)):
        with pytest.raises(ScopeExpressionError, match=message):
            call(template, params)


@pytest.mark.parametrize(("expression", "message"), [
    ({}, r"at \$: unknown form with keys \[\]"),
    ([], "expected a string or an object, got list"),
    (12, "got int"),
    ({"Foo": ["abc"]}, r"keys \['Foo'\]"),
    ({"AnyOf": ["abc"], "AllOf": ["abc"]}, "unknown form"),
    ({"AnyOf": 1}, r"\$\.AnyOf: AnyOf must be a list, got int"),
    ({"AnyOf": "scope:bar"}, "AnyOf must be a list, got str"),
    ({"AllOf": ["ok", {"AnyOf": ["tab\t"]}]}, r"\$\.AllOf\[1\]\.AnyOf\[0\]: .* printable ASCII"),
    ({"for": "a", "in": "b", "each": "<a>"}, "must be an item of AllOf/AnyOf"),
    ({"AllOf": [{"for": "a", "in": "not valid", "each": "<a>"}]}, r"\.in: in must be a param"),
    ({"AllOf": [{"for": "a", "in": "b", "each": {"AllOf": []}}]}, "each must be a string"),
    ({"if": "<x>", "then": "a"}, r"\$\.if: if must be a parameter name"),
    ({"if": "x", "then": {"for": "a", "in": "b", "each": "c"}}, r"\$\.then: a for/in/each"),
    ({"if": "x"}, "unknown form"),
])
def test_invalid_expressions(expression, message):
    with pytest.raises(ScopeExpressionError, match=message):
        validate(expression)
    with pytest.raises(ScopeExpressionError):
        check(["*"], expression)


def test_bad_held_and_params():
    with pytest.raises(ScopeExpressionError, match="held scopes must be a list of strings"):
        check("queue:*", "queue:x")
    with pytest.raises(ScopeExpressionError, match=r"held\[1\]: must be a string, got int"):
        check(["a", 1], "a")
    with pytest.raises(ScopeExpressionError, match="params must be a mapping"):
        check(["a"], "a", ["x"])


# -- templates with every parameter known --------------------------------------------------

def test_create_task_with_all_parameters():
    held = ["queue:create-task:*", "queue:scheduler-id:sched", "queue:route:index.*",
            "docker-worker:cache:*"]
    assert check(held, CREATE_TASK, TASK_PARAMS) == Check(True, None, ())
    result = check(held[:3], CREATE_TASK, TASK_PARAMS)
    assert result == Check(False, "docker-worker:cache:x", ())
    # one priority suffices (AnyOf of the expanded items)
    held2 = ["queue:create-task:lowest:prov/wt", *held[1:]]
    assert satisfies(held2, CREATE_TASK, {**TASK_PARAMS, "projectId": "p"}) is False
    assert satisfies([*held2, "queue:create-task:project:*"], CREATE_TASK, TASK_PARAMS)
    no_priority = {**TASK_PARAMS, "priorities": []}
    assert check(held, CREATE_TASK, no_priority).ok is False  # AnyOf of nothing


def test_if_then_else_with_known_condition():
    read_only = ["auth:aws-s3:read-only:b/*"]
    params = {"bucket": "b", "prefix": "p/x"}
    assert satisfies(read_only, AWS_S3, {**params, "levelIsReadOnly": True})
    result = check(read_only, AWS_S3, {**params, "levelIsReadOnly": False})
    assert result == Check(False, "auth:aws-s3:read-write:b/p/x", ())
    assert satisfies([], {"if": "x", "then": "a"}, {"x": False})  # nothing required


def test_if_false_without_else_offers_nothing_in_anyof():
    expression = {"AnyOf": [{"if": "x", "then": "a"}]}
    assert check(["a"], expression, {"x": False}).ok is False
    assert check(["a"], expression, {"x": True}).ok is True
    assert check(["a"], {"AllOf": [{"if": "x", "then": "b"}, "a"]}, {"x": False}).ok is True


# -- templates with unknown parameters: never guess ----------------------------------------

def test_unknown_parameter_gives_none():
    result = check(["queue:get-task:abc"], "queue:get-task:<taskId>")
    assert result == Check(None, "queue:get-task:<taskId>", ("taskId",))
    with pytest.raises(ScopeExpressionError, match=r"without the parameters \['taskId'\]"):
        satisfies(["queue:get-task:abc"], "queue:get-task:<taskId>")


def test_unknown_parameter_decided_when_every_value_agrees():
    assert check(["queue:*"], "queue:get-task:<taskId>").ok is True
    assert check(["queue:get-task:*"], "queue:get-task:<taskId>").ok is True
    assert check(["index:*"], "queue:get-task:<taskId>").ok is False
    assert check(["queue:get-task:abc/x"], "queue:get-task:<taskId>/y").ok is False
    assert check(["queue:get-task:abc/y"], "queue:get-task:<taskId>/y").ok is None
    assert check(["queue:get-*"], "queue:<kind>-task").ok is None
    assert check(["queue:get-task:a", "queue:*"], "queue:get-task:<taskId>").ok is True


def test_unknown_array_and_condition():
    # "*" covers every scope, but an unknown priorities array may be empty (AnyOf of nothing)
    assert check(["*"], CREATE_TASK, {}).ok is None
    assert check(["*"], CREATE_TASK, {"priorities": ["high"]}).ok is True
    assert check(["queue:*"], CREATE_TASK, {}).ok is None  # the scopes array may hold more
    assert check(["queue:*"], CREATE_TASK, {"scopes": [], "priorities": ["low"]}).ok is True
    # an AnyOf of a for with unknown array: the array may be empty
    assert check(["*"], {"AnyOf": [{"for": "a", "in": "b", "each": "x:<a>"}]}).ok is None
    assert check(["y:*"], {"AnyOf": [{"for": "a", "in": "b", "each": "x:<a>"}]}).ok is False
    assert check(["auth:aws-s3:*"], AWS_S3, {}).ok is True
    assert check(["auth:aws-s3:read-write:b/*"], AWS_S3, {"bucket": "b"}).ok is True
    result = check(["auth:aws-s3:read-only:b/*"], AWS_S3, {"bucket": "b"})
    assert result.ok is None
    assert result.unknown == ("levelIsReadOnly", "prefix")
    assert result.missing == {"if": "levelIsReadOnly", "then": {"AllOf": []},
                              "else": "auth:aws-s3:read-write:b/<prefix>"}
    assert check(["other"], AWS_S3, {"bucket": "b"}).ok is False


def test_params_of():
    assert params_of(CREATE_TASK) == {
        "scopes": "array", "routes": "array", "projectId": "string", "schedulerId": "string",
        "priorities": "array", "provisionerId": "string", "workerType": "string"}
    assert params_of(AWS_S3) == {"levelIsReadOnly": "boolean", "bucket": "string",
                                 "prefix": "string"}
    with pytest.raises(ScopeExpressionError, match="'x' is used both as string and as array"):
        params_of({"AllOf": ["<x>", {"for": "a", "in": "x", "each": "<a>"}]})


def test_describe():
    assert describe("queue:get-task:<taskId>") == "queue:get-task:<taskId>"
    assert describe({"AllOf": ["a"]}) == "a"
    assert describe({"AllOf": []}) == "(nothing required)"
    assert describe({"AnyOf": []}) == "(never satisfied)"
    assert describe(AWS_S3) == "\n".join([
        "if levelIsReadOnly:",
        "  any of:",
        "    - auth:aws-s3:read-only:<bucket>/<prefix>",
        "    - auth:aws-s3:read-write:<bucket>/<prefix>",
        "else:",
        "  auth:aws-s3:read-write:<bucket>/<prefix>"])
    assert describe({"AllOf": ["a", {"AnyOf": ["b", "c"]}]}) == "\n".join([
        "all of:", "  - a", "  - any of:", "      - b", "      - c"])
    assert "(for each route in routes)" in describe(CREATE_TASK)


def test_every_reference_expression(deployment_dir):
    found = 0
    for path in sorted((deployment_dir / "references").glob("*/*/api.json")):
        for entry in json.loads(path.read_text())["entries"]:
            if "scopes" not in entry:
                continue
            found += 1
            expression = entry["scopes"]
            kinds = params_of(expression)
            assert check(["*"], expression).ok is not False, entry["name"]
            assert check([], expression).ok is not True, entry["name"]
            full = {name: {"string": "v", "array": ["v"], "boolean": True}[kind]
                    for name, kind in kinds.items()}
            assert check(["*"], expression, full) == Check(True, None, ()), entry["name"]
            rendered = render(expression, full)
            assert "<" not in json.dumps(rendered), entry["name"]
            assert satisfies(_leaves(rendered), expression, full), entry["name"]
    assert found > 50


def _leaves(expression) -> list[str]:
    if isinstance(expression, str):
        return [expression]
    if expression is None:
        return []
    if "if" in expression:  # rendered with an unknown condition
        return [*_leaves(expression["then"]), *_leaves(expression.get("else"))]
    return [s for item in next(iter(expression.values())) for s in _leaves(item)]


# -- properties ----------------------------------------------------------------------------

plain = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                       exclude_characters="<"), max_size=12)


@given(plain)
def test_a_scope_satisfies_itself(scope):
    assert satisfies([scope], scope)


@given(plain, plain)
def test_star_satisfies_every_extension(prefix, rest):
    assert satisfies([prefix + "*"], prefix + rest)


@given(st.lists(plain, max_size=5), st.data())
def test_allof_of_satisfied_is_satisfied(held, data):
    required = data.draw(st.lists(st.sampled_from(held), max_size=5)) if held else []
    assert satisfies(held, {"AllOf": required})
    assert satisfies(held, {"AnyOf": required}) is bool(required)


@given(st.lists(plain, max_size=5))
def test_empty_lists(held):
    assert satisfies(held, {"AllOf": []})
    assert not satisfies(held, {"AnyOf": []})


def _oracle(held, expression) -> bool:
    if isinstance(expression, str):
        return any(h == expression or (h.endswith("*") and expression.startswith(h[:-1]))
                   for h in held)
    if "AllOf" in expression:
        return all(_oracle(held, e) for e in expression["AllOf"])
    return any(_oracle(held, e) for e in expression["AnyOf"])


short = st.text(alphabet="ab*:", max_size=4)
expressions = st.recursive(
    short, lambda sub: st.one_of(st.builds(lambda x: {"AllOf": x}, st.lists(sub, max_size=3)),
                                 st.builds(lambda x: {"AnyOf": x}, st.lists(sub, max_size=3))),
    max_leaves=8)


@given(st.lists(short, max_size=4), expressions)
def test_agrees_with_plain_evaluation_and_explains(held, expression):
    result = check(held, expression)
    assert result.ok is _oracle(held, expression)
    if result.ok:
        assert result.missing is None
    else:  # what is reported missing is indeed not satisfied by the held scopes
        assert not _oracle(held, result.missing)


NAMES = ("p", "q", "arr", "flag")
templ_string = st.text(alphabet="ab:*", max_size=3).flatmap(
    lambda s: st.sampled_from([s, f"{s}<p>", f"<q>{s}", f"{s}<p>:<q>"]))
templates = st.recursive(
    templ_string,
    lambda sub: st.one_of(
        st.builds(lambda x, f: {"AllOf": x + f}, st.lists(sub, max_size=3),
                  st.lists(st.just({"for": "v", "in": "arr", "each": "a:<v>"}), max_size=1)),
        st.builds(lambda x, f: {"AnyOf": x + f}, st.lists(sub, max_size=3),
                  st.lists(st.just({"for": "v", "in": "arr", "each": "b<v>:<p>"}), max_size=1)),
        st.builds(lambda t, e: {"if": "flag", "then": t, **e},
                  sub.filter(lambda x: not (isinstance(x, dict) and "for" in x)),
                  st.one_of(st.just({}), sub.map(lambda x: {"else": x})))),
    max_leaves=8)
values = st.fixed_dictionaries({
    "p": st.text(alphabet="ab:*", max_size=3), "q": st.text(alphabet="ab:", max_size=3),
    "arr": st.lists(st.text(alphabet="ab*", max_size=2), max_size=2), "flag": st.booleans()})


@given(st.lists(st.text(alphabet="ab:*", max_size=5), max_size=3), templates, values,
       st.sets(st.sampled_from(NAMES)), st.data())
def test_never_guesses(extra, template, params, hidden, data):
    """With some parameters withheld, the answer is either None or the true one."""
    leaves = _leaves(render(template, params))  # hold some of exactly what is required
    held = extra + (data.draw(st.lists(st.sampled_from(leaves), max_size=4)) if leaves else [])
    full = check(held, template, params)
    assert full.ok is not None and full.unknown == ()
    partial = check(held, template, {k: v for k, v in params.items() if k not in hidden})
    assert partial.ok in (None, full.ok)
    assert set(partial.unknown) <= hidden
