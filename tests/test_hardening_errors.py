"""Issue 8, items 7 (schema-error redaction), 11 (pickling), 14 (Method.validate) and 23
(odd certificate numbers, hostile schemas)."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pickle
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import tcdyn
from tcdyn import errors
from tcdyn.credentials import Credentials, signed_url
from tcdyn.errors import (
    CredentialsError,
    ReferenceLoadError,
    SchemaNotAvailable,
    SchemaValidationError,
    TaskclusterFailure,
    TaskclusterRestFailure,
)
from tcdyn.redact import looks_secret, url_for_display
from tcdyn.schemas import SchemaRegistry, jsregex
from tcdyn.schemas.patterns import PatternTimeout, compile_pattern, is_safe
from tcdyn.schemas.rust_check import portable_pattern
from tcdyn.testing.payloads import create_task
from tcdyn.testing.server import LocalDeployment

T = "/schemas/t/v1/t.json"


def registry(schema: Any, **others: Any) -> SchemaRegistry:
    docs = {T: schema, **others}
    return SchemaRegistry(docs.get)


# --- item 11: every exception pickles ----------------------------------------------------------

_SAMPLES: dict[str, Any] = {
    "message": "it failed", "source": "https://tc.example.com/references/x.json",
    "field": "entries[3].method", "path": "/schemas/queue/v1/task.json",
    "url": "https://tc.example.com/api/queue/v1/task/abc", "referenced_by": "/schemas/q.json",
    "errors": ["one", "two"], "schema": "https://tc.example.com/schemas/q.json",
    "status_code": 404, "code": "ResourceNotFound",
    "body": {"code": "ResourceNotFound", "message": "gone", "requestInfo": {"method": "task"}},
    "raw_body": "<html>", "service": "queue", "method_name": "task", "http_method": "GET",
    "attempts": 3, "superExc": httpx.ConnectError("refused"),
}


def _exception_classes() -> list[type[TaskclusterFailure]]:
    for module in ("tcdyn.errors", "tcdyn.exchanges", "tcdyn.scopes", "tcdyn.pulse.errors"):
        importlib.import_module(module)
    found, todo = [], [TaskclusterFailure]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    public = {name for name in dir(errors) if isinstance(getattr(errors, name), type)}
    assert public <= {c.__name__ for c in found} | {"Any"}
    return sorted(set(found), key=lambda c: (c.__module__, c.__name__))


def _instance(cls: type[TaskclusterFailure]) -> TaskclusterFailure:
    """An instance with every constructor parameter set to a non-default sample."""
    args, kwargs = [], {}
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = _SAMPLES.get(param.name, f"sample {param.name}")
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    return cls(*args, **kwargs)


def _same(a: BaseException, b: BaseException) -> None:
    assert type(a) is type(b)
    assert str(a) == str(b)
    assert a.args == b.args
    assert a.__dict__.keys() == b.__dict__.keys()
    for key, value in a.__dict__.items():
        if isinstance(value, BaseException):  # exceptions compare by identity
            assert (type(b.__dict__[key]), str(b.__dict__[key])) == (type(value), str(value))
        else:
            assert b.__dict__[key] == value, key


CLASSES = _exception_classes()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_exception_round_trips_through_pickle(cls: type[TaskclusterFailure]) -> None:
    error = _instance(cls)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        _same(error, pickle.loads(pickle.dumps(error, protocol)))


def test_the_classes_the_issue_names_are_covered() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {"ReferenceLoadError", "SchemaNotAvailable", "TaskclusterRestFailure",
            "ScopeExpressionError", "ResourceNotFound", "PulseConnectionError",
            "RoutingKeyError", "TaskclusterConnectionError"} <= names
    rest = pickle.loads(pickle.dumps(_instance(errors.ResourceNotFound)))
    assert "HTTP None" not in str(rest) and rest.status_code == 404
    scope = pickle.loads(pickle.dumps(errors.ScopeExpressionError("bad", "$.AllOf[1]")))
    assert str(scope) == "scope expression at $.AllOf[1]: bad"


def test_an_unpicklable_attribute_travels_as_a_stand_in() -> None:
    import threading

    class Odd(Exception):
        def __init__(self) -> None:
            super().__init__("odd")
            self.lock = threading.Lock()

    error = errors.TaskclusterConnectionError("down", url="https://x", superExc=Odd())
    back = pickle.loads(pickle.dumps(error))
    assert str(back) == "down" and back.url == "https://x"
    assert str(back.superExc) == "Odd: odd"


def _raise(kind: str) -> None:
    if kind == "reference":
        raise ReferenceLoadError("https://tc.example.com/x.json", "bad method", "entries[0]")
    if kind == "schema":
        raise SchemaNotAvailable("/schemas/q/v1/t.json", "https://tc/q/v1/t.json", "by.json")
    raise errors.InsufficientScopes("you lack queue:x", status_code=403,
                                    code="InsufficientScopes", service="queue",
                                    method_name="createTask", attempts=2)


def test_exceptions_cross_a_process_pool() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        for kind in ("reference", "schema", "rest"):
            with pytest.raises(TaskclusterFailure) as caught:
                pool.submit(_raise, kind).result(timeout=60)
            try:
                _raise(kind)
            except TaskclusterFailure as expected:
                _same(expected, caught.value)
        assert pool.submit(str, 1).result(timeout=60) == "1"  # the pool survived


# --- item 14: Method.validate checks what the call sends ---------------------------------------


@pytest.fixture(scope="module")
def deployment(deployment_dir: Path):
    with LocalDeployment(deployment_dir) as dep:
        yield tcdyn.load(dep.root_url)


def test_method_validate_accepts_datetimes_as_the_call_does(deployment: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    task = {**create_task(), "created": now, "deadline": now + dt.timedelta(days=1),
            "expires": now + dt.timedelta(days=30)}
    queue = deployment.Queue()
    assert queue.createTask.validate(task) is None
    assert deployment.Queue.createTask.validate(task) is None
    with pytest.raises(SchemaValidationError, match=r"\$\.priority"):
        queue.createTask.validate({**task, "priority": "urgent"})
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        queue.createTask.validate({**task, "extra": object()})


# --- item 7: no secret in a schema error --------------------------------------------------------

TOKEN = "Xk3vP9qLm2ZtR7wYb4NcJ8hGf1DsA6eUo5iKy0TnVlQ"  # 43 chars, like a temporary token
SIGNATURE = "n8Bf6yQ+Zr3/2WkP0xJvT5mC1hLdS9aGeRiUo7NqYtE="


@pytest.mark.parametrize(("schema", "instance", "secret"), [
    ({"properties": {"DEPLOY_KEY": {"type": "integer"}}}, {"DEPLOY_KEY": "hunter2-deploy"},
     "hunter2-deploy"),
    ({"properties": {"payload": {"properties": {"env": {
        "additionalProperties": {"type": "string"}}}}}},
     {"payload": {"env": {"DB": ["postgres://u:pw-in-env@db/x"]}}}, "pw-in-env"),
    ({"properties": {"note": {"type": "integer"}}}, {"note": "ghp_abcdefghijklmnop123456"},
     "ghp_abcdefghijklmnop123456"),
    ({"properties": {"note": {"enum": ["a"]}}}, {"note": TOKEN}, TOKEN),
    ({"properties": {"credentials": {"type": "string"}}},
     {"credentials": {"clientId": "me", "accessToken": TOKEN}}, TOKEN),
    ({"properties": {"outer": {"type": "string"}}},
     {"outer": {"clientId": "me", "accessToken": TOKEN,
                "certificate": {"seed": "s" * 44, "signature": SIGNATURE}}}, SIGNATURE),
    ({"type": "string"}, {"apiKey": TOKEN, "DEPLOY_KEY": "hunter2-deploy"}, "hunter2"),
    ({"properties": {"env": {"maxProperties": 0}}}, {"env": {"PASSWORD_FILE": "plaintext-x"}},
     "plaintext-x"),
    ({"properties": {"x": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}}},
     {"x": {"api_token": "tok-value-123"}}, "tok-value-123"),
])
def test_schema_errors_never_show_secret_values(schema: Any, instance: Any, secret: str
                                               ) -> None:
    with pytest.raises(SchemaValidationError) as caught:
        registry(schema).validate(T, instance, what="t")
    text = str(caught.value) + repr([v.message for v in caught.value.errors])
    assert secret not in text
    assert "<redacted>" in text


def test_ordinary_values_stay_visible() -> None:
    with pytest.raises(SchemaValidationError) as caught:
        registry({"properties": {"taskId": {"type": "integer"},
                                 "image": {"type": "integer"}}}).validate(
            T, {"taskId": "fN1SbArXTPSVFNUvaOlinQ", "image": "ubuntu:22.04"}, what="t")
    assert "'fN1SbArXTPSVFNUvaOlinQ' is not of type 'integer'" in str(caught.value)
    assert "'ubuntu:22.04' is not of type 'integer'" in str(caught.value)
    assert not looks_secret("https://github.com/taskcluster/taskcluster/blob/main/x1")


def test_urls_in_credential_errors_hide_bewits_and_passwords() -> None:
    creds = Credentials("me", "token-value")
    with pytest.raises(CredentialsError) as caught:
        signed_url(creds, "https://tc.example.com/x?bewit=SECRETBEWIT")
    assert "SECRETBEWIT" not in str(caught.value) and "bewit=" in str(caught.value)
    with pytest.raises(CredentialsError) as caught:
        signed_url(creds, "ftp://user:hunter2@tc.example.com/x?token=abc")
    assert "hunter2" not in str(caught.value) and "abc" not in str(caught.value)
    assert url_for_display("http://[::1") == "<redacted>"


# --- item 23: odd certificate numbers -------------------------------------------------


def _certificate(**changes: Any) -> dict[str, Any]:
    return {"version": 1, "scopes": [], "start": 0, "expiry": 1, "seed": "s" * 44,
            "signature": "sig", **changes}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e300, -1e300,
                                   10**400, 2**70])
@pytest.mark.parametrize("field", ["start", "expiry"])
def test_odd_certificate_numbers_are_refused(field: str, value: Any) -> None:
    with pytest.raises(CredentialsError, match=rf"certificate\.{field} must be a finite"):
        Credentials("me/temp", "token", _certificate(**{field: value}))


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e300"])
def test_odd_certificate_numbers_from_the_environment(text: str) -> None:
    cert = json.dumps(_certificate()).replace('"expiry": 1', f'"expiry": {text}')
    env = {"TASKCLUSTER_CLIENT_ID": "me/temp", "TASKCLUSTER_ACCESS_TOKEN": "token",
           "TASKCLUSTER_CERTIFICATE": cert}
    with pytest.raises(CredentialsError, match=r"from the environment: certificate\.expiry"):
        Credentials.from_env(env)


def test_extreme_but_valid_certificate_times_still_work() -> None:
    late = Credentials("me/temp", "token", _certificate(expiry=253402300799999))
    assert "9999-12-31" in repr(late)
    assert late.is_expired() is False
    assert late.is_expired(margin=dt.timedelta(days=9999 * 365)) is True
    early = Credentials("me/temp", "token", _certificate(start=-62135596800000,
                                                         expiry=-62135596800000))
    assert early.is_expired(margin=dt.timedelta(days=2)) is True


# --- item 23: hostile schemas ---------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", ["pattern", "patternProperties", "additionalProperties"])
def test_catastrophic_patterns_are_bounded(where: str) -> None:
    hostile = r"^(a|aa)+(?!b)$"  # not proved linear, and no Rust spelling (a look-ahead)
    schema = {
        "pattern": {"properties": {"x": {"pattern": hostile}}},
        "patternProperties": {"patternProperties": {hostile: {"type": "string"}}},
        "additionalProperties": {"patternProperties": {hostile: {}},
                                 "additionalProperties": False},
    }[where]
    text = "a" * 40 + "!"
    instance = {"x": text} if where == "pattern" else {text: 1}
    reg = registry(schema)
    start = time.perf_counter()
    with pytest.raises(SchemaValidationError, match="catastrophic backtracking"):
        reg.validate(T, instance, what="t")
    assert time.perf_counter() - start < 2
    start = time.perf_counter()  # each value gets its own time limit (issue 18 item 17)
    with pytest.raises(SchemaValidationError, match="catastrophic backtracking"):
        reg.validate(T, instance, what="t")
    assert time.perf_counter() - start < 2


@pytest.mark.timeout(20)
def test_the_issues_pattern_answers_at_once() -> None:
    reg = registry({"type": "string", "pattern": "^(a+)+$"})
    start = time.perf_counter()
    with pytest.raises(SchemaValidationError, match="does not match"):
        reg.validate(T, "a" * 26 + "!", what="t")
    reg.validate(T, "a" * 26, what="t")
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(("pattern", "safe"), [
    (r"^[a-z]([-a-z0-9]{0,36}[a-z0-9])?$", True),
    (r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$", True),
    (r"^(https?://|ssh://|git@)", True), (r"^[ -~]*$", True), (r"^[^/]+/[^/]+$", True),
    (r"[-a-z0-9]+", True), (r"^(a+)+$", False), (r"^(a|aa)+$", False), (r"^a*a*$", False),
    (r"a*b", False), (r"^(a|ab)c$", False), (r"(?=a)b", False), (r"(a)\1", False),
    (r"(?i)^a+$", False), (r"^\d{0,99}\d{0,99}\d{0,99}x$", False),
])
def test_which_patterns_are_proved_safe(pattern: str, safe: bool) -> None:
    assert is_safe(pattern) is safe


def test_every_taskcluster_pattern_is_proved_safe(deployment_dir: Path) -> None:
    patterns: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            if isinstance(node.get("patternProperties"), dict):
                patterns.update(node["patternProperties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for file in (deployment_dir / "schemas").rglob("*.json"):
        walk(json.loads(file.read_text()))
    assert len(patterns) > 20
    spelt = [jsregex.to_python(p) for p in patterns]
    assert [t.pattern for t in spelt if t.engine != "re" or not is_safe(t.pattern)] == []
    assert [p for p in patterns if portable_pattern(p) is None] == []  # Rust matches them


@pytest.mark.parametrize("pattern", [r"^(a+)+$", r"^[a-z]+$", r"a$", r"^x(y|z)?\d*$",
                                     r"(?=a)a", r"(ab)\1"])
@pytest.mark.parametrize("text", ["", "a", "aaa", "a\n", "xy12", "x", "abab", "aa!"])
def test_both_engines_match_as_the_spelling_does(pattern: str, text: str) -> None:
    # proved safe: re; else regex under a time limit: the same answers as the spelling
    spelt = jsregex.to_python(pattern).pattern
    assert (compile_pattern(pattern).search(text) is not None) == (
        re.search(spelt, text) is not None)


def test_fast_path_reads_dollar_as_javascript(caplog: pytest.LogCaptureFixture) -> None:
    reg = registry({"pattern": "^a$"})
    reg.validate(T, "a", what="t")
    with pytest.raises(SchemaValidationError):
        reg.validate(T, "a\n", what="t")  # "$" is the end of the text
    assert reg._fast[T] is not None
    reg = registry({"pattern": "(?m)^a$"})  # Python's inline flag: V8 refuses it
    reg.validate(T, "b", what="t")  # left to the service, with one notice
    assert "left to the service" in caplog.text


def test_pattern_timeout_is_a_clear_error() -> None:
    error = PatternTimeout("^(a|aa)+$")
    assert "catastrophic backtracking" in str(error)


@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"allOf": [{"$ref": "#"}]},
    {"not": {"$ref": "#/definitions/a"}, "definitions": {"a": {"anyOf": [{"$ref": "#"}]}}},
])
def test_ref_loops_are_refused_with_the_schema(schema: Any) -> None:
    with pytest.raises(ReferenceLoadError, match=r"\$refs loop back to .* without descending"):
        registry(schema).validate(T, {"a": 1}, what="t")


def test_ref_loops_across_documents_are_refused() -> None:
    reg = registry({"allOf": [{"$ref": "u.json#"}]},
                   **{"/schemas/t/v1/u.json": {"allOf": [{"$ref": "t.json#"}]}})
    with pytest.raises(ReferenceLoadError, match=r"\$refs loop"):
        reg.validate(T, {}, what="t")


def test_recursion_through_the_value_is_fine() -> None:
    reg = registry({"type": "object", "additionalProperties": {"$ref": "#"}})
    reg.validate(T, {"a": {"b": {}}}, what="t")
    with pytest.raises(SchemaValidationError, match=r"\$\.a\.b: 1 is not of type"):
        reg.validate(T, {"a": {"b": 1}}, what="t")


def _nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def test_deep_schemas_are_refused() -> None:
    with pytest.raises(ReferenceLoadError, match="nested 801 levels deep"):
        registry(_nested_schema(400)).validate(T, {"a": 1}, what="t")
    with pytest.raises(SchemaValidationError):  # Taskcluster-like depths still work
        registry(_nested_schema(20)).validate(T, {"a": 1}, what="t")


@pytest.mark.parametrize("depth", [600, 3000])
def test_deep_instances_give_a_schema_error(depth: int) -> None:
    instance: Any = {"b": 1}
    for _ in range(depth):
        instance = {"a": instance}
    reg = registry({"type": "object", "properties": {"b": {"type": "string"}},
                    "additionalProperties": {"$ref": "#"}})
    with pytest.raises(SchemaValidationError, match="too deep to check"):
        reg.validate(T, instance, what="t")


def test_rest_failure_pickles_with_its_body() -> None:
    error = TaskclusterRestFailure("gone", status_code=404, code="ResourceNotFound",
                                   body={"code": "ResourceNotFound", "requestInfo": {"a": 1}})
    back = pickle.loads(pickle.dumps(error))
    assert back.request_info == {"a": 1} and str(back) == str(error)
