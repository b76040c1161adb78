"""Issue 10, "one rule, one place": each rule below is written once and used everywhere."""

from __future__ import annotations

import copy

import pytest

import tcdyn
from tcdyn.auth import scopes
from tcdyn.credentials import Credentials
from tcdyn.errors import (
    CredentialsError,
    ReferenceLoadError,
    ScopeExpressionError,
    TaskclusterArgumentError,
)
from tcdyn.model.reference import build_model
from tcdyn.references import ReferenceSet

BOTH_KEYS = {"AllOf": ["a"], "AnyOf": ["b"]}


def _queue_with_scopes(expr):
    raw = copy.deepcopy(ReferenceSet.bundled().model("Queue").raw)
    raw = {**raw, "entries": [dict(e) for e in raw["entries"]]}
    raw["entries"][0]["scopes"] = expr
    return raw


@pytest.mark.parametrize(("expr", "field", "why"), [
    (BOTH_KEYS, "entries[0].scopes", "unknown form with keys ['AllOf', 'AnyOf']"),
    ({"AllOf": [{"for": "x", "in": "xs"}]}, "entries[0].scopes.AllOf[0]", "unknown form"),
    ({"if": "x", "then": {"for": "a", "in": "b", "each": "c"}}, "entries[0].scopes.then",
     "must be an item of AllOf/AnyOf"),
    ({"AnyOf": ["tab\there"]}, "entries[0].scopes.AnyOf[0]", "outside printable ASCII"),
])
def test_a_reference_scope_expression_is_checked_as_strictly_as_scopes_validate(expr, field,
                                                                                  why):
    with pytest.raises(ScopeExpressionError):
        scopes.validate(expr)
    with pytest.raises(ReferenceLoadError) as info:
        build_model(_queue_with_scopes(expr), "queue/v1/api.json")
    assert info.value.field == field and why in str(info.value)


def test_call_params_are_payload_then_route_then_extra_then_the_service_hook():
    from tcdyn.auth.service_scopes import HOOKS

    params = scopes.call_params("queue", "createTask", {"taskId": "T"},
                                {"taskId": "ignored", "priority": "high",
                                 "taskQueueId": "p/w"}, {"extra": 1})
    assert params["taskId"] == "T" and params["extra"] == 1
    assert params["priorities"] == ["highest", "very-high", "high"]
    assert (params["provisionerId"], params["workerType"]) == ("p", "w")
    assert params["taskGroupId"] == "T" and ("queue", "createTask") in HOOKS
    assert scopes.call_params("queue", "task", {"taskId": "T"}, ["not", "a", "mapping"]) == \
        {"taskId": "T"}
    assert "service_params" not in vars(scopes)  # the queue's rule is not in generic code


def test_the_update_script_tells_reference_kinds_by_tcdyns_own_rule():
    import importlib.util
    from pathlib import Path

    from tcdyn.model.reference import reference_kind

    script = Path(__file__).resolve().parents[1] / "scripts" / "update_references.py"
    spec = importlib.util.spec_from_file_location("update_references_rules", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.kind_of is reference_kind and not hasattr(module, "KINDS")
    assert module.kind_of({"$schema": "http://schemas.taskcluster.net/base/v1/"
                                      "exchanges-reference.json#"}) == "exchanges"


PARTIAL = [
    ({"TASKCLUSTER_CLIENT_ID": "me"}, "TASKCLUSTER_ACCESS_TOKEN is not set"),
    ({"TASKCLUSTER_CLIENT_ID": "", "TASKCLUSTER_ACCESS_TOKEN": "t"},
     "TASKCLUSTER_CLIENT_ID is not set"),
    ({"TASKCLUSTER_CERTIFICATE": "{}"}, "TASKCLUSTER_CERTIFICATE is set but"),
]


@pytest.mark.parametrize(("env", "message"), PARTIAL)
def test_every_environment_reader_refuses_a_partial_credential_set(monkeypatch, env, message):
    from tcdyn.utils import optionsFromEnvironment

    for var in ("TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN", "TASKCLUSTER_CERTIFICATE",
                "TASKCLUSTER_PROXY_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    readers = [Credentials.from_env, lambda: tcdyn.Queue.from_env()]
    for reader in readers:
        with pytest.raises(CredentialsError, match=message):
            reader()
    # optionsFromEnvironment merges what is set into its defaults, as the official one does
    # (they may hold the rest); a set still partial is refused by the client it configures
    for options in (optionsFromEnvironment(), optionsFromEnvironment(
            environ={**env, "TASKCLUSTER_ROOT_URL": "https://tc.example.com"})):
        with pytest.raises(CredentialsError, match="credentials dict"):
            tcdyn.Queue(options)


def test_an_empty_variable_counts_as_unset_everywhere(monkeypatch):
    from tcdyn.utils import optionsFromEnvironment

    env = {"TASKCLUSTER_ROOT_URL": "", "TASKCLUSTER_CLIENT_ID": "",
           "TASKCLUSTER_ACCESS_TOKEN": ""}
    assert optionsFromEnvironment(environ=env) == {}
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("TASKCLUSTER_PROXY_URL", "")
    with pytest.raises(TaskclusterArgumentError, match="needs a rootUrl"):
        tcdyn.Queue.from_env()


@pytest.mark.parametrize(("name", "path"), [
    ("v1/x.json#", "/schemas/queue/v1/x.json#"),
    ("/schemas/q/v1/x.json#", "/schemas/q/v1/x.json#"),
    ("https://tc.example.com/schemas/queue/v1/x.json#", "/schemas/queue/v1/x.json#"),
    ("http://schemas.taskcluster.net/queue/v1/x.json#", "/schemas/queue/v1/x.json#"),
    ("v1/x.json", "/schemas/queue/v1/x.json"),
])
def test_exchange_bindings_and_the_registry_read_schema_names_by_one_rule(name, path):
    from tcdyn.exchanges import schema_path
    from tcdyn.schemas import SchemaRegistry

    assert schema_path("queue", name) == path
    assert SchemaRegistry.schema_path("queue", name) == path.rstrip("#")
