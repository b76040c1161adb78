"""The jsonschema-rs fast check (tcdyn.rust_check): its verdicts are jsonschema's."""

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
from tcdyn.rust_check import DATE_TIME, portable_pattern
from tcdyn.schemas import SchemaRegistry, is_date_time

T = "/schemas/t/v1/t.json"


def _rs(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft6Validator(schema).is_valid


def test_date_time_pattern_is_is_date_time() -> None:
    check = _rs({"pattern": DATE_TIME})
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
               "x2024-05-01T12:00:00Z", "2024-5-01T12:00:00Z", "2024-05-01T12:00:00\u0660Z"]
    for value in values:
        assert check(value) is is_date_time(value), value


_ATOMS = ["a", "b", ".", "[a-c]", "[^a]", "[$a]", "\\.", "-", "\\n", "é", "\\d", "\\w", "\\s",
          "(a|b)", "(?:ab)", "\\Z", "^", "$", "(?i)a", "a*?", "[\\]x]", "\\b"]
_QUANT = ["", "*", "+", "?", "{2}", "{1,3}", "*?"]
patterns = st.lists(st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_QUANT)),
                    min_size=1, max_size=5).map(lambda parts: "".join(a + q for a, q in parts))
texts = st.text(alphabet="ab.-$\n\r\u2028é]x1\u0663 ", max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(pattern=patterns | patterns.map(lambda p: f"^{p}$"), text=texts)
def test_portable_patterns_match_as_re_does(pattern: str, text: str) -> None:
    try:
        re.compile(pattern)
    except re.error:
        return
    spelt = portable_pattern(pattern)
    if spelt is not None:  # else the custom keyword matches with Python's re
        assert _rs({"pattern": spelt})(text) is (re.search(pattern, text) is not None), spelt


@pytest.mark.parametrize(("pattern", "portable"), [
    ("^[a-zA-Z0-9-_]{1,38}$", True), ("^a$", True), ("a\\Z", True), ("^(a|b)$", True),
    ("^\\w+$", False), ("^\\d$", False), ("^(a+)+$", False), ("(?i)a", False),
    ("a$|b", False), ("\\bx", False),
])
def test_what_is_portable(pattern: str, portable: bool) -> None:
    assert (portable_pattern(pattern) is not None) is portable


@pytest.mark.parametrize(("schema", "value", "valid"), [
    # Python's \w has no combining marks; ECMAScript's and Rust's differ
    ({"pattern": "^\\w+$"}, "a\u0301", False), ({"pattern": "^\\w+$"}, "\u00e9\u00bd", True),
    ({"not": {"pattern": "^\\w+$"}}, "a\u0301", True),
    # "." is not "\r"-shy in Python; "$" allows a final newline, also under not/oneOf
    ({"pattern": "^a.b$"}, "a\rb", True), ({"not": {"pattern": "^a$"}}, "a\n", False),
    ({"oneOf": [{"format": "date-time"}, {"pattern": "^2024"}]}, "2024-02-29T00:00:00Z", False),
    ({"not": {"format": "date-time"}}, "2016-12-31T23:59:60Z", False),
    ({"not": {"format": "email"}}, "a@b", False), ({"format": "ipv4"}, "1.2.3", False),
    ({"format": "uri"}, "not a uri", True),  # tcdyn leaves uri unchecked
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
    from tcdyn import rust_check
    from tcdyn.references import bundled_dir

    made: list[str] = []
    monkeypatch.setattr(rust_check._PythonPattern, "__init__",
                        lambda self, parent, value, path: made.append(value))
    registry = tcdyn.load(bundled_dir()).validator.schemas
    fast = registry._compiled("/schemas/queue/v1/task-completed-message.json")
    assert isinstance(fast.__self__, jsonschema_rs.Draft6Validator)
    # no custom keyword: with one, jsonschema-rs is some 20 times slower on every message
    assert made == []
