"""The jsonschema-rs fast check (tcdyn.schemas.rust_check): its verdicts are the services'."""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcdyn.errors import SchemaValidationError
from tcdyn.schemas import SchemaRegistry, formats, jsregex
from tcdyn.schemas.rust_check import _rust, portable_pattern

T = "/schemas/t/v1/t.json"


def _rs(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft7Validator(schema).is_valid


def is_date_time(value: str) -> bool:
    return formats.check("date-time", value)


def test_date_time_pattern_is_the_format() -> None:
    (spelt,) = formats.patterns("date-time") or ()
    rust = _rust(spelt)
    assert rust is not None
    check = _rs({"pattern": rust})
    day = datetime.date(1896, 1, 1)
    values = []
    while day.year < 2405:  # every day of 5 centuries (leap years, 1900, 2000, 2100, 2400)
        values.append(f"{day.isoformat()}T23:59:59Z")
        day += datetime.timedelta(days=1)
    for year in (1900, 1999, 2000, 2023, 2024, 2100, 2400, 0, 4, 100):
        for month in range(1, 13):
            for dd in (0, 28, 29, 30, 31, 32):
                values.append(f"{year:04}-{month:02}-{dd:02}T00:00:00Z")
    for t in ("23:59:60", "23:58:60", "12:00:60", "24:00:00", "23:60:00", "00:00:00.5",
              "00:00:00."):
        for zone in ("Z", "z", "+01:00", "-0530", "+02", "+1", ""):
            values.append(f"2024-05-01T{t}{zone}")
    values += ["2024-05-01 12:00:00Z", "2024-05-01t12:00:00Z", "2024-05-01\u200312:00:00Z",
               "2024-05-01\u200b12:00:00Z", "2024-05-01\n12:00:00Z", "2024-05-01T12:00:00Z\n",
               "x2024-05-01T12:00:00Z", "2024-5-01T12:00:00Z", "2024-05-01T12:00:00\u0660Z",
               "2024-05-01\ufeff12:00:00", "2024-05-01\x1c12:00:00Z", "2024-05-01\xa012:00Z",
               "2024-05-01\u202812:00:00"]
    for value in values:
        assert check(value) is is_date_time(value), value


_ATOMS = ["a", "b", ".", "[a-c]", "[^a]", "[$a]", "\\.", "-", "\\n", "é", "\\d", "\\w", "\\s",
          "(a|b)", "(?:ab)", "^", "$", "a*?", "[\\]x]", "\\b", "\\p{L}", "[^\\s\\d]",
          "\\u{1F600}", "\\u2028", "[^]", "\\D"]
_QUANT = ["", "*", "+", "?", "{2}", "{1,3}", "*?"]
patterns = st.lists(st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_QUANT)),
                    min_size=1, max_size=5).map(lambda parts: "".join(a + q for a, q in parts))
texts = st.text(alphabet="ab.-$\n\r\u2028é]x1\u0663 ", max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(pattern=patterns | patterns.map(lambda p: f"^{p}$"), text=texts)
def test_portable_patterns_match_as_javascript_does(pattern: str, text: str) -> None:
    # the Python spelling is JavaScript's meaning (tests/real compares it with V8)
    try:
        spelt = jsregex.to_python(pattern)
    except (jsregex.JsSyntaxError, jsregex.Untranslatable):
        return
    rust = portable_pattern(pattern)
    if rust is not None:  # else the custom keyword matches with tcdyn.schemas.patterns
        assert _rs({"pattern": rust})(text) is (re.search(spelt.pattern, text) is not None)


@pytest.mark.parametrize(("pattern", "portable"), [
    ("^[a-zA-Z0-9-_]{1,38}$", True), ("^a$", True), ("^(a|b)$", True), ("^\\w+$", True),
    ("^\\d$", True), ("^(a+)+$", True), ("a$|b", True), ("\\p{L}+", True), (".", True),
    ("(?i)a", False), ("a\\Z", False),  # V8 refuses them
    ("\\bx", False), ("(?=a)", False), ("(a)\\1", False), ("\\uD800", False),
    ("a{1000}{1000}", False),  # too large unrolled
])
def test_what_is_portable(pattern: str, portable: bool) -> None:
    assert (portable_pattern(pattern) is not None) is portable


@pytest.mark.parametrize(("schema", "value", "valid"), [
    # JavaScript's \w is ASCII; "." excludes "\r"; "$" is the end, also under not/oneOf
    ({"pattern": "^\\w+$"}, "a\u0301", False), ({"pattern": "^\\w+$"}, "\u00e9\u00bd", False),
    ({"not": {"pattern": "^\\w+$"}}, "a\u0301", True),
    ({"pattern": "^a.b$"}, "a\rb", False), ({"not": {"pattern": "^a$"}}, "a\n", True),
    ({"oneOf": [{"format": "date-time"}, {"pattern": "^2024"}]}, "2024-02-29T00:00:00Z", False),
    ({"not": {"format": "date-time"}}, "2016-12-31T23:59:60Z", False),
    ({"not": {"format": "email"}}, "a@b", True), ({"format": "ipv4"}, "1.2.3", False),
    ({"format": "uri"}, "not a uri", False), ({"not": {"format": "uri"}}, "https://x", False),
    ({"not": {"format": "hostname"}}, "a_b", True), ({"format": "regex"}, "(?<n>x)", True),
    ({"not": {"format": "regex"}}, "[", True), ({"format": "ipv4"}, "10.0.0.01", True),
])
def test_registry_verdicts(schema: dict[str, Any], value: Any, valid: bool) -> None:
    registry = SchemaRegistry(lambda path: copy.deepcopy({T: schema}.get(path)))
    if valid:
        registry.validate(T, value, what="t")
    else:
        with pytest.raises(SchemaValidationError):
            registry.validate(T, value, what="t")
    assert registry._fast[T] is not None  # jsonschema-rs judged (jsonschema confirmed)


def test_task_completed_message_is_checked_in_rust(monkeypatch: pytest.MonkeyPatch) -> None:
    import tcdyn
    from tcdyn.references import bundled_dir
    from tcdyn.schemas import rust_check

    made: list[str] = []
    monkeypatch.setattr(rust_check._JsPattern, "__init__",
                        lambda self, parent, value, path: made.append(value))
    compiled: list[set[str]] = []
    compile_check = rust_check.compile_check
    monkeypatch.setattr(rust_check, "compile_check", lambda root, retrieve, needs: (
        compiled.append(needs), compile_check(root, retrieve, needs))[1])
    registry = tcdyn.load(bundled_dir()).validator.schemas
    fast = registry._compiled("/schemas/queue/v1/task-completed-message.json")
    assert isinstance(fast.__self__, jsonschema_rs.Draft7Validator)
    # no custom keyword or format: each would call into Python, for every message
    assert made == [] and compiled == [set()]


# -- issue 18 item 5: Ctrl-C (a signal handler's KeyboardInterrupt) is not swallowed ---------
# jsonschema-rs turns an exception raised by the Python code it calls into its own error (a
# retriever, a keyword's constructor) or into a "not valid" verdict (a keyword's validate):
# a KeyboardInterrupt raised there by a signal handler made the schema fall back to
# fastjsonschema, or the report's validator decide, and the interrupt was gone.

U = "/schemas/t/v1/u.json"


def _interrupting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, when: Any) -> None:
    """``module.name`` raises KeyboardInterrupt the first time ``when(*args)`` holds."""
    original = getattr(module, name)
    done: list[bool] = []

    def interrupted(*args: Any) -> Any:
        if not done and when(*args):
            done.append(True)
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(module, name, interrupted)


def test_an_interrupt_while_jsonschema_rs_retrieves_a_document_is_raised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tcdyn.schemas import fast_path

    registry = SchemaRegistry(lambda path: copy.deepcopy({
        T: {"properties": {"a": {"$ref": "u.json"}}}, U: {"type": "string"}}.get(path)))
    # the root is read by tcdyn; u.json when jsonschema-rs asks for it
    _interrupting(monkeypatch, fast_path, "_document", lambda prepared, uri: "u.json" in uri)
    with pytest.raises(KeyboardInterrupt):
        registry.validate(T, {"a": "x"}, what="t")


@pytest.mark.parametrize("phase", ["constructor", "validate"])
def test_an_interrupt_in_a_custom_keyword_is_raised(monkeypatch: pytest.MonkeyPatch,
                                                    phase: str) -> None:
    from tcdyn.schemas import rust_check

    pattern = "^(?=a)a$"  # not portable: matched by the custom keyword
    assert portable_pattern(pattern) is None
    registry = SchemaRegistry(lambda path: copy.deepcopy({T: {"pattern": pattern}}.get(path)))
    if phase == "constructor":
        _interrupting(monkeypatch, rust_check, "compile_pattern", lambda value: True)
    else:
        class Interrupting:
            def search(self, text: str) -> Any:
                raise KeyboardInterrupt

        monkeypatch.setattr(rust_check, "compile_pattern", lambda value: Interrupting())
    with pytest.raises(KeyboardInterrupt):
        registry.validate(T, "a", what="t")
