"""tcdyn.utils against the official taskcluster.utils."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import slugid
import taskcluster.utils as official
from hypothesis import given
from hypothesis import strategies as st

from tcdyn.utils import (
    dumpJson,
    fromNow,
    fromNowJSON,
    optionsFromEnvironment,
    slugId,
    stableSlugId,
    stringDate,
)

BASE = datetime(2026, 3, 15, 12, 30, 45, 123456, tzinfo=UTC)
ENV_VARS = ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
            "TASKCLUSTER_CERTIFICATE")


def test_slug_id_is_a_nice_v4_slug():
    ids = {slugId() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert isinstance(value, str) and re.fullmatch(r"[A-Za-f][A-Za-z0-9_-]{21}", value)
        assert uuid.UUID(str(slugid.decode(value))).version == 4


def test_slug_id_v4_covers_every_v4_uuid():
    from tcdyn.utils import slugIdV4

    ids = [slugIdV4() for _ in range(400)]
    assert len(set(ids)) == 400
    assert all(uuid.UUID(str(slugid.decode(v))).version == 4 for v in ids)
    assert any(not re.match(r"[A-Za-f]", v) for v in ids)  # unlike nice ones


def test_stable_slug_id():
    first, second = stableSlugId(), stableSlugId()
    assert first("build") == first("build")
    assert first("build") != first("test")
    assert first("build") != second("build")
    assert len(first("x")) == 22


@pytest.mark.parametrize("offset", [
    "1 day", "2 days 3 hours", "-1 year", "1d2h", "+3 months", "  5 minutes", "1 minute",
    "1y2mo3w4d5h6m7s", "10 sec", "3 weeks", "- 2 hours", "1 hour 30 min", "45 seconds",
    "2 years", "1mo", "1 w", "7 d", "0 s", "", "  ", "-0d", "100 days ", "1 month",
])
def test_from_now_matches_official(offset):
    assert fromNow(offset, BASE) == official.fromNow(offset, BASE)


def test_from_now_default_is_now_utc():
    before = datetime.now(UTC)
    got = fromNow("1 hour")
    assert got.tzinfo is not None
    assert before + timedelta(hours=1) <= got <= datetime.now(UTC) + timedelta(hours=1)


def test_from_now_naive_stays_naive():
    naive = datetime(2026, 1, 1)
    assert fromNow("1 day", naive) == datetime(2026, 1, 2)


@pytest.mark.parametrize(("extra", "same_as"), [
    ("1yr", "1 year"), ("2 yrs", "2 years"), ("3wk", "3 weeks"), ("4 hr", "4 hours"),
    ("1yr 2wk 3hr", "1 year 2 weeks 3 hours"),
])
def test_javascript_unit_forms(extra, same_as):
    assert fromNow(extra, BASE) == fromNow(same_as, BASE)


@pytest.mark.parametrize("offset", ["1 fortnight", "2 days 1 year", "abc", "1.5 days", "--1d"])
def test_from_now_refuses(offset):
    with pytest.raises(ValueError, match=re.escape(repr(offset)) + " does not parse"):
        fromNow(offset, BASE)


def test_from_now_types():
    with pytest.raises(TypeError, match="offset must be a string"):
        fromNow(3600, BASE)
    with pytest.raises(TypeError, match="dateObj must be a datetime"):
        fromNow("1 day", "2026-01-01")


units = st.sampled_from([
    ("years", ["y", "year", "years"]), ("months", ["mo", "month", "months"]),
    ("weeks", ["w", "week", "weeks"]), ("days", ["d", "day", "days"]),
    ("hours", ["h", "hour", "hours"]), ("minutes", ["m", "min", "minute", "minutes"]),
    ("seconds", ["s", "sec", "second", "seconds"])])
ORDER = ["years", "months", "weeks", "days", "hours", "minutes", "seconds"]


@given(st.lists(st.tuples(units, st.integers(0, 500), st.data()), max_size=7, unique_by=lambda
                x: x[0][0]),
       st.sampled_from(["", "-", "+", " - "]), st.sampled_from(["", " "]))
def test_from_now_grammar_matches_official(parts, sign, space):
    parts = sorted(parts, key=lambda p: ORDER.index(p[0][0]))
    text = sign + space.join(f"{n}{space}{data.draw(st.sampled_from(names))}"
                             for (_, names), n, data in parts)
    assert fromNow(text, BASE) == official.fromNow(text, BASE)


def test_string_date():
    assert stringDate(BASE) == "2026-03-15T12:30:45.123456Z"
    assert stringDate(datetime(2026, 1, 1)) == "2026-01-01T00:00:00Z"
    plus_two = timezone(timedelta(hours=2))
    assert stringDate(datetime(2026, 1, 1, 2, 0, 0, 999999, tzinfo=plus_two)) == \
        "2026-01-01T02:00:00.999999+02:00"
    assert stringDate(date(2026, 2, 3)) == "2026-02-03T00:00:00Z"
    with pytest.raises(TypeError, match="expected a datetime, got str"):
        stringDate("2026-01-01")


def test_from_now_json():
    text = fromNowJSON("2 hours")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", text)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    expected = datetime.now(UTC) + timedelta(hours=2)
    assert abs(value - expected) < timedelta(seconds=5)


def test_dump_json():
    obj = {"b": [1, 2.5, None, True], "a": {"x": "y\u00e9"}, "raw": b"bytes"}
    assert dumpJson(obj) == official.dumpJson(obj)
    assert dumpJson({"when": BASE, "day": date(2026, 1, 2)}) == \
        '{"when":"2026-03-15T12:30:45.123456Z","day":"2026-01-02T00:00:00Z"}'
    assert json.loads(dumpJson({"k": BASE}))["k"] == stringDate(BASE)
    assert dumpJson({"b": 1, "a": 2}, sort_keys=True) == '{"a":2,"b":1}'
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        dumpJson({"s": {1}})


@pytest.mark.parametrize("env", [
    {},
    {"TASKCLUSTER_ROOT_URL": "https://tc.example.com/"},
    {"TASKCLUSTER_ROOT_URL": "https://tc.example.com", "TASKCLUSTER_CLIENT_ID": "me",
     "TASKCLUSTER_ACCESS_TOKEN": "token"},
    {"TASKCLUSTER_CLIENT_ID": "me", "TASKCLUSTER_ACCESS_TOKEN": "token",
     "TASKCLUSTER_CERTIFICATE": '{"version":1}'},
])
@pytest.mark.parametrize("defaults", [None, {"rootUrl": "https://old", "maxRetries": 2},
                                      {"credentials": {"clientId": "default"}}])
def test_options_from_environment_matches_official(monkeypatch, env, defaults):
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    snapshot = json.dumps(defaults)
    ours = optionsFromEnvironment(defaults)
    assert json.dumps(defaults) == snapshot  # the defaults are not changed
    assert ours == official.optionsFromEnvironment(json.loads(snapshot))
    assert optionsFromEnvironment(defaults, environ=env) == ours


def test_options_from_given_environ_ignores_os_environ(monkeypatch):
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "https://from-os.example.com")
    assert optionsFromEnvironment(environ={}) == {}
