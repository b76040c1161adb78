"""Issue 11 item 5: a call's payload is validated as the object it is when that is plain JSON
(no re-decoding of the body), with the same verdict and report as the decoded form; each
entry's check is resolved once."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

import pytest

import tcdyn
from tcdyn.call.bind import encode_body
from tcdyn.errors import SchemaValidationError
from tcdyn.references import bundled_dir
from tcdyn.schemas.fast_path import sent_as_is as _sent_as_is
from tcdyn.testing.payloads import create_task
from tcdyn.testing.server import LocalDeployment


@pytest.fixture(scope="module")
def deployment() -> Any:
    return tcdyn.load(bundled_dir())


class Level(enum.IntEnum):
    HIGH = 1


class Name(str):
    pass


def _decoded_verdict(deployment: Any, payload: Any) -> str | None:
    """The verdict on the decoded body, as validation worked before (the reference)."""
    registry = deployment.validator.schemas
    entry = deployment.Queue._model.entries["createTask"]
    try:
        registry.validate(registry.schema_path("queue", entry.input),
                          json.loads(encode_body(entry, payload)), what="createTask payload")
    except SchemaValidationError as error:
        return str(error)
    return None


def _verdict(deployment: Any, payload: Any) -> str | None:
    try:
        deployment.Queue.createTask.validate(payload)
    except SchemaValidationError as error:
        return str(error)
    return None


def test_a_plain_payload_is_checked_without_decoding_the_body(deployment: Any,
                                                               monkeypatch: Any) -> None:
    deployment.Queue.createTask.validate(create_task())  # schemas loaded and compiled
    decoded: list[Any] = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: decoded.append(a) or real(*a, **k))
    deployment.Queue.createTask.validate(create_task())
    assert decoded == []
    # a datetime is not plain JSON: checked as the date-time string it is sent as
    now = dt.datetime.now(dt.UTC)
    deployment.Queue.createTask.validate({**create_task(), "created": now})
    assert len(decoded) == 1


@pytest.mark.parametrize("change", [
    {},                                                     # valid, plain
    {"priority": "urgent"},                                 # invalid, plain
    {"created": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)},   # datetime: decoded
    {"created": 5, "metadata": None},                       # two errors: the full report
    {"routes": ("a", "b")},                                 # a tuple is sent as a list
    {"routes": [Name("index.x")]},                          # a str subclass
    {"retries": Level.HIGH},                                # an IntEnum is sent as 1
    {"tags": {1: "one"}},                                   # a non-str key is sent as "1"
    {"tags": {1: "one", "1": "two"}},                       # ...which may collide
    {"extra": {"deep": [1.5, 2**60, None, True]}},          # additionalProperties: refused
    {"retries": float(2**60)},                              # a float no longer exact
])
def test_the_object_gets_the_decoded_forms_verdict_and_report(deployment: Any,
                                                               change: dict) -> None:
    payload = {**create_task(), **change}
    assert _verdict(deployment, payload) == _decoded_verdict(deployment, payload)


def test_sent_as_is_only_for_exactly_what_decoding_gives() -> None:
    assert _sent_as_is({"a": [1, "x", None, True, 1.5, {"b": []}]})
    for value in ({1: "x"}, ("a",), [Name("a")], Level.HIGH, {"a": float(2**53)},
                  {"a": dt.datetime.now()}, [[[{"k": ("t",)}]]]):
        assert not _sent_as_is(value), value


def test_a_call_and_validate_agree_and_the_check_is_resolved_once(deployment_dir: Any
                                                                   ) -> None:
    with LocalDeployment(deployment_dir) as dep:
        tc = tcdyn.load(dep.root_url)
        queue = tc.Queue(rootUrl=dep.root_url, credentials=None, validate=True)
        task = {**create_task(), "priority": "urgent"}
        with pytest.raises(SchemaValidationError) as by_call:
            queue.createTask("abc", task)
        with pytest.raises(SchemaValidationError) as by_validate:
            queue.createTask.validate(task)
        assert str(by_call.value) == str(by_validate.value)
        assert [str(v) for v in by_call.value.errors] == ["$.priority: 'urgent' is not one of "
                                                          "['highest', 'very-high', 'high', "
                                                          "'medium', 'low', 'very-low', "
                                                          "'lowest'] [enum]"]
        entry = tc.Queue._model.entries["createTask"]
        checker = tc.validator._payloads[entry]
        with pytest.raises(SchemaValidationError):
            queue.createTask("abc", task)
        assert tc.validator._payloads[entry] is checker  # resolved once, kept on the entry
