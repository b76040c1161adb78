"""tcdyn's validation decides as the services' validator (ajv 8 + ajv-formats 2.1.1 with
Taskcluster's options) does: issue 19, and issue 18 items 17 and 18."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tcdyn.errors import SchemaValidationError
from tcdyn.schemas import SchemaRegistry

T = "/schemas/t/v1/t.json"


def registry(schema: Any, **others: Any) -> SchemaRegistry:
    docs = {T: schema, **others}
    return SchemaRegistry(docs.get)


def verdict(reg: SchemaRegistry, value: Any) -> bool:
    try:
        reg.validate(T, value, what="t")
    except SchemaValidationError:
        return False
    return True


# --- issue 18 item 17: one pattern timeout poisons the process ------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("where", ["pattern", "patternProperties"])
def test_a_pattern_timeout_fails_that_value_only(where: str) -> None:
    hostile = "^(a|aa)+(?!b)$"  # not proved linear, not for Rust: a time limit
    schema = ({"properties": {"x": {"pattern": hostile}}} if where == "pattern"
              else {"patternProperties": {hostile: {"type": "string"}}})
    reg = registry(schema)

    def value(text: str) -> dict[str, Any]:
        return {"x": text} if where == "pattern" else {text: "v"}

    with pytest.raises(SchemaValidationError, match="catastrophic backtracking"):
        reg.validate(T, value("a" * 40 + "!"), what="t")
    start = time.perf_counter()
    reg.validate(T, value("aaaa"), what="t")  # the next value is matched on its own
    with pytest.raises(SchemaValidationError, match=r"does not match|not of type"):
        reg.validate(T, value("ab") if where == "pattern" else {"aa": 3}, what="t")
    assert time.perf_counter() - start < 1
    with pytest.raises(SchemaValidationError, match="catastrophic backtracking"):
        reg.validate(T, value("a" * 40 + "!"), what="t")  # and a slow one times out again


# --- issue 18 item 18: annotations and tcdyn's own keyword in the fast path -----------------


@pytest.mark.parametrize(("schema", "value"), [
    ({"not": {"contentEncoding": "base64"}}, "!!not base64"),
    ({"not": {"contentMediaType": "application/json"}}, "{not json"),
    ({"oneOf": [{"contentEncoding": "base64"}, {"type": "string"}]}, "!!not base64"),
    ({"type": "string", "pattern": "^(a|aa)+b?$", "not": {"tcdynPattern": "^b"}}, "aa"),
    ({"properties": {"x": {"pattern": "(?=a)a", "not": {"tcdynPattern": "^b"}}}}, {"x": "a"}),
    ({"not": {"tcdynUniqueFilled": {}}}, [1, 1]),
])
def test_annotations_and_unknown_keywords_are_not_enforced(schema: Any, value: Any) -> None:
    # contentEncoding/contentMediaType are annotations to the service (ajv) and jsonschema,
    # and an unknown keyword means nothing: so each schema above refuses the value
    assert verdict(registry(schema), value) is False


# --- issue 19: the services' reading -----------------------------------------------------------

CREATE_TASK = "/schemas/queue/v1/create-task-request.json"
TASK_COMPLETED = "/schemas/queue/v1/task-completed-message.json"


@pytest.fixture(scope="module")
def bundled() -> SchemaRegistry:
    import json

    from tcdyn.references import bundled_dir

    root = bundled_dir() / "schemas"

    def load(path: str) -> Any:
        file = root / path[len("/schemas/"):]
        return json.loads(file.read_text()) if file.is_file() else None

    return SchemaRegistry(load)


def _task(**changes: Any) -> dict[str, Any]:
    from tcdyn.testing.payloads import create_task

    task = create_task()
    for key, value in changes.items():
        if value is None:
            del task[key]
        else:
            task[key] = value
    return task


@pytest.mark.parametrize(("changes", "valid"), [
    # the issue's table (ajv 8 + ajv-formats 2.1.1 as the v106 services run them)
    ({"taskGroupId": "fD8K6RuIQ5iNbNc0bY8oCg\n"}, False),  # "$" is the end of the text
    ({"schedulerId": "gecko-level-3\n"}, False),
    ({"dependencies": ["eYN0HRI6SXuTaTuxKaa1mw\n"]}, False),
    ({"deadline": "2024-05-02\x1c12:00:00.000Z"}, False),  # U+001C is no JS white space
    ({"deadline": "2024-05-02T12:00:00.000"}, True),  # no time zone: ajv-formats takes it
    ({"deadline": "2024-05-02\ufeff12:00:00.000Z"}, True),  # U+FEFF is JS white space
    # a required property with a valid default may be missing (useDefaults); payload's
    # default ([]) is not an object, so it may not
    ({"dependencies": None, "priority": None, "projectId": None}, True),
    ({"payload": None}, False),
    ({"retries": 2**53 + 1}, False),  # beyond the maximum once a double
    ({"retries": 5.0}, True),  # 5.0 is the integer 5 to JavaScript
    ({"routes": ["__proto__", "__proto__"]}, True),  # uniqueItems of strings: see AJV_SAYS
    ({"routes": ["a", "a"]}, False),
])
def test_create_task_as_the_queue_decides(bundled: SchemaRegistry, changes: dict[str, Any],
                                          valid: bool) -> None:
    assert verdict_at(bundled, CREATE_TASK, _task(**changes)) is valid
    assert bundled.left_to_service(CREATE_TASK) == ()


def verdict_at(reg: SchemaRegistry, path: str, value: Any) -> bool:
    try:
        reg.validate(path, value, what="t")
    except SchemaValidationError:
        return False
    return True


@pytest.mark.parametrize(("ip", "valid"), [
    ("10.0.0.01", True), ("010.0.0.1", True), ("256.0.0.1", False), ("::ffff:1.2.3.4", True),
    ("fe80::1%eth0", False), ("1.2.3.4\n", False),
])
def test_authenticate_hawk_source_ip(bundled: SchemaRegistry, ip: str, valid: bool) -> None:
    request = {"method": "get", "resource": "/", "host": "example.com", "port": 443,
               "authorization": "Hawk id=\"x\"", "sourceIp": ip}
    assert verdict_at(bundled, "/schemas/auth/v1/authenticate-hawk-request.json",
                      request) is valid


@pytest.mark.parametrize(("pattern", "text", "valid"), [
    ("^\\p{L}+$", "héllo", True), ("^\\p{L}+$", "h3llo", False),
    ("^(?<word>[a-z]+)-\\k<word>$", "ab-ab", True), ("^(?<word>[a-z]+)-\\k<word>$", "ab-ba", False),
    ("^\\u{1F600}$", "\U0001f600", True), ("^.$", "\U0001f600", True), ("^.$", "\r", False),
    ("^\\d+$", "\u0663", False), ("^\\s$", "\ufeff", True), ("^\\s$", "\x1c", False),
    ("^\\w+$", "é", False),
])
def test_javascript_patterns(pattern: str, text: str, valid: bool) -> None:
    reg = registry({"type": "string", "pattern": pattern})
    assert verdict(reg, text) is valid  # and no ReferenceLoadError: V8's syntax is read
    assert reg.left_to_service(T) == ()
    assert verdict(registry({"not": {"type": "string", "pattern": pattern}}), text) is not valid


@pytest.mark.parametrize(("fmt", "text", "valid"), [
    ("uri", "not a uri", False), ("uri", "https://example.com/x", True),
    ("hostname", "a_b.example.com", False), ("hostname", "example.com.", True),
    ("email", "a@b", False), ("email", "a@b.co", True),
    ("regex", "(?<n>x)\\k<n>", True), ("regex", "a\\Z", False), ("regex", "[", False),
])
def test_formats_also_under_not(fmt: str, text: str, valid: bool) -> None:
    assert verdict(registry({"format": fmt}), text) is valid
    assert verdict(registry({"not": {"format": fmt}}), text) is not valid


def test_what_cannot_be_decided_is_left_to_the_service_with_one_notice(
        caplog: pytest.LogCaptureFixture) -> None:
    schema = {"properties": {"a": {"format": "made-up"}, "b": {"pattern": "^(?i:ab)$"},
                             "c": {"not": {"format": "made-up"}}, "d": {"type": "integer"}}}
    reg = registry(schema)
    for value in ({"a": "x", "b": "AB", "c": "y"}, {"a": 1, "b": "zz", "c": 2}):
        assert verdict(reg, value)  # neutral, also under not
    assert not verdict(reg, {"d": "x"})  # the rest is still checked
    left = reg.left_to_service(T)  # two formats, the not over one, the pattern
    assert len(left) == 4 and any("properties/c: not" in line for line in left)
    notices = [r.getMessage() for r in caplog.records if "left to the service" in r.getMessage()]
    assert len(notices) == 4  # once each, not once per value


def test_messages_and_responses_are_checked_alike(bundled: SchemaRegistry) -> None:
    import tcdyn
    from tcdyn.references import bundled_dir

    tc = tcdyn.load(bundled_dir())
    binding = tc.QueueEvents().taskCompleted()
    status = {"taskId": "fNUmq2ywTzSAlsRGnnAcNQ", "provisionerId": "p", "workerType": "w",
              "taskQueueId": "p/w", "schedulerId": "s", "projectId": "none",
              "taskGroupId": "aNUmq2ywTzSAlsRGnnAcNQ", "deadline": "2030-01-01T00:00:00.000",
              "expires": "2031-01-01T00:00:00.000Z", "retriesLeft": 5, "state": "completed",
              "runs": []}
    message = {"version": 1, "status": status, "runId": 0, "workerGroup": "g",
               "workerId": "w"}
    tc.validate_message(binding, message)  # a deadline without a zone: as the queue reads it
    with pytest.raises(SchemaValidationError):
        tc.validate_message(binding, {**message, "workerId": "w\n"})
    validator = tc.validator
    validator.check("queue", "v1/task-status-response.json", {"status": status},
                    "status response")
    with pytest.raises(SchemaValidationError):
        validator.check("queue", "v1/task-status-response.json",
                        {"status": {**status, "taskId": status["taskId"] + "\n"}},
                        "status response")


# --- disagreements the differential test found (tests/real), each checked against ajv ---------

# (schema, value, ajv's verdict): the v106 stack's lib-validate said so
AJV_SAYS: list[tuple[Any, Any, bool]] = [
    # seed 910929: useDefaults fills a property in only when `data[name] === undefined`; an
    # Object.prototype member is never undefined, also in an object a default put there, so
    # the inherited function is checked and the nested default is never filled in
    ({"properties": {"b": {"properties": {"toString": {"type": "array", "default": [1]}},
                           "default": {"a": 1}}}}, {"a": 1}, False),
    ({"properties": {"b": {"properties": {"toString": {"type": "array", "default": [1]}},
                           "default": {"a": 1}}}}, {"b": {"toString": [1]}}, True),
    ({"properties": {"b": {"properties": {"toString": {"default": [1]}}, "minProperties": 2,
                           "default": {"a": 1}}}}, {"a": 1}, False),
    ({"properties": {"b": {"properties": {"valueOf": {"type": "array", "default": [1]}},
                           "default": {}}}}, {}, False),
    ({"properties": {"b": {"properties": {"constructor": {"not": {"type": "array"},
                                                          "default": [1]}},
                           "default": {}}}}, {}, True),
    # a default ajv inserts is checked as a value sent there would be: const and enum run
    # before the defaults inside it are filled in
    ({"properties": {"p": {"default": {}, "properties": {"a": {"default": 1}}, "const": {}}}},
     {}, True),
    ({"properties": {"p": {"default": {}, "properties": {"a": {"default": 1}},
                           "enum": [{"a": 1}]}}}, {}, False),
    # uniqueItems runs after items, so it compares the items with their defaults filled in
    ({"items": {"properties": {"a": {"default": 1}}}, "uniqueItems": True}, [{}, {"a": 1}],
     False),
    ({"items": {"properties": {"a": {"default": 1}}}, "uniqueItems": True}, [{}, {"a": 2}],
     True),
    ({"items": {"$ref": "#/definitions/i"}, "uniqueItems": True,
      "definitions": {"i": {"properties": {"o": {"default": {}, "properties": {
          "b": {"default": [1]}}}}}}}, [{"o": {"b": [1]}}, {}], False),
    # ajv's equality (fast-deep-equal) compares own "constructor" properties by identity:
    # two objects holding one that is an object or array are never equal
    ({"uniqueItems": True}, [{"constructor": {}}, {"constructor": {}}], True),
    ({"uniqueItems": True}, [{"a": {"constructor": []}}, {"a": {"constructor": []}}], True),
    ({"uniqueItems": True}, [{"constructor": 1}, {"constructor": 1}], False),
    ({"const": {"constructor": {}}}, {"constructor": {}}, False),
    ({"const": {"a": [{"constructor": [1]}]}}, {"a": [{"constructor": [1]}]}, False),
    ({"enum": [{"constructor": {}}, 1]}, {"constructor": {}}, False),
    ({"enum": [{"constructor": {}}, 1]}, 1, True),
    ({"const": {"constructor": "x"}}, {"constructor": "x"}, True),
    # items of one scalar type: ajv counts them in an object, where "__proto__" never sticks
    ({"items": {"type": "string"}, "uniqueItems": True}, ["__proto__", "__proto__"], True),
    ({"items": {"type": "string"}, "uniqueItems": True}, ["a", "__proto__", "a"], False),
    ({"items": {"type": "string", "nullable": True}, "uniqueItems": True},
     ["__proto__", "__proto__"], False),
    ({"uniqueItems": True}, ["__proto__", "__proto__"], False),
]


@pytest.mark.parametrize(("schema", "value", "valid"), AJV_SAYS)
def test_decides_as_ajv_where_the_differential_disagreed(schema: Any, value: Any,
                                                         valid: bool) -> None:
    reg = registry(schema)
    assert verdict(reg, value) is valid
    assert reg.left_to_service(T) == ()  # decided here, not left to the service


# (schema, value) that ajv refuses, where ajv's order of filling defaults in decides: another
# schema of the same part of the value sees the defaults filled in (or not yet), or a default
# holds a "__proto__" key (a JavaScript object literal: it sets the prototype)
LEFT_TO_SERVICE: list[tuple[Any, Any, bool]] = [
    ({"allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}}],
      "properties": {"p": {"const": {}}}}, {"p": {}}, False),
    ({"properties": {"p": {"const": {}}},
      "allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}}]}, {"p": {}}, False),
    ({"allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}}],
      "properties": {"p": {"maxProperties": 0}}}, {"p": {}}, False),
    ({"allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}},
                {"properties": {"p": {"const": {}}}}]}, {"p": {}}, False),
    ({"allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}}],
      "patternProperties": {"^p$": {"const": {}}}}, {"p": {}}, False),
    ({"allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}}],
      "properties": {"p": {"required": ["a"]}}}, {"p": {}}, True),
    ({"allOf": [{"items": {"properties": {"a": {"default": 1}}}}], "items": {"const": {}}},
     [{}], False),
    ({"items": {"properties": {"a": {"default": 1}}}, "contains": {"const": {"a": 1}}}, [{}],
     True),
    ({"properties": {"p": {"default": {"__proto__": {"a": 1}}, "required": ["a"]}}}, {}, True),
    ({"properties": {"p": {"default": {"__proto__": 1}, "maxProperties": 0}}}, {}, True),
]


@pytest.mark.parametrize(("schema", "value", "valid"), LEFT_TO_SERVICE)
def test_where_the_order_of_defaults_decides_the_service_does(schema: Any, value: Any,
                                                              valid: bool) -> None:
    reg = registry(schema)
    assert verdict(reg, value)  # never refused, whether ajv accepts (valid) or not
    assert reg.left_to_service(T)


def test_unique_items_with_defaults_in_the_services_own_lists(bundled: SchemaRegistry
                                                              ) -> None:
    # two statuses equal once the queue's schema fills in schedulerId's default ("-"):
    # ajv refuses the list; jsonschema-rs and the report's validator decide it alike
    status = {"taskId": "fNUmq2ywTzSAlsRGnnAcNQ", "provisionerId": "p", "workerType": "w",
              "taskQueueId": "p/w", "schedulerId": "-", "projectId": "none",
              "taskGroupId": "aNUmq2ywTzSAlsRGnnAcNQ", "deadline": "2030-01-01T00:00:00.000Z",
              "expires": "2031-01-01T00:00:00.000Z", "retriesLeft": 5, "state": "completed",
              "runs": []}
    bare = {k: v for k, v in status.items() if k != "schedulerId"}
    path = "/schemas/queue/v1/tasks-statuses-response.json"
    same = {"statuses": [{"taskId": "x", "status": status}, {"taskId": "x", "status": bare}]}
    other = {"statuses": [{"taskId": "x", "status": status}, {"taskId": "y", "status": bare}]}
    assert not verdict_at(bundled, path, same)
    assert verdict_at(bundled, path, other)
    assert bundled._fast[path] is not None  # jsonschema-rs, with tcdyn's keyword
    assert not bundled._fast[path](same) and bundled._fast[path](other)
    assert not bundled.validator(path).is_valid(same)  # the report's validator agrees
    assert bundled.left_to_service(path) == ()


@pytest.mark.parametrize(("schema", "value", "valid"), [
    ({"not": {"items": {"type": "string"}, "uniqueItems": True}}, ["__proto__", "__proto__"],
     False),
    ({"not": {"uniqueItems": True}}, [{"constructor": {}}, {"constructor": {}}], False),
    ({"if": {"uniqueItems": True}, "then": False}, [{"constructor": {}}, {"constructor": {}}],
     False),
    ({"oneOf": [{"uniqueItems": True}, {"type": "string"}]},
     [{"constructor": {}}, {"constructor": {}}], True),
    ({"not": {"uniqueItems": True}}, [{"constructor": 1}, {"constructor": 1}], True),
])
def test_unique_items_under_negation_in_every_engine(schema: Any, value: Any,
                                                    valid: bool) -> None:
    # Rust's and fastjsonschema's equality is stricter than ajv's: harmless where a refusal
    # goes to the report's validator, but under not, oneOf or if stricter is looser
    from tcdyn.schemas.fast_path import _compile_fastjsonschema, fast_accepts

    reg = registry(schema)
    assert verdict(reg, value) is valid
    fast = reg._fast[T]
    assert fast is not None and fast_accepts(fast, value) in (valid, False)
    assert _compile_fastjsonschema(reg._prepared[T], []) is None  # it stands aside
