"""The schema registry against the v106 deployment's own schemas, in both id forms.

The registry's fast path (fastjsonschema) must never accept what jsonschema rejects: the
agreement tests at the end compare the two on mutated real payloads and on every keyword.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft6Validator

from tcdyn.errors import ReferenceLoadError, SchemaValidationError, TaskclusterFailure
from tcdyn.schemas.fast_path import fast_accepts as _fast_accepts
from tcdyn.schemas.fast_path import plain_json as _plain_json
from tcdyn.schemas.formats import check as _check_format
from tcdyn.schemas.registry import (
    RECORDED_ERRORS,
    SUMMARY_LINES,
    SchemaNotAvailable,
    SchemaRegistry,
    SchemaViolation,
)
from tcdyn.schemas.semantics import judge_class
from tcdyn.schemas.walk import walk as _walk
from tcdyn.testing.payloads import create_hook, create_task, create_worker_pool, set_secret

ROOT_URL = "https://tc.example.com"
CREATE_TASK = "/schemas/queue/v1/create-task-request.json"
CREATE_HOOK = "/schemas/hooks/v1/create-hook-request.json"
CREATE_POOL = "/schemas/worker-manager/v1/create-worker-pool-request.json"
SECRET = "/schemas/secrets/v1/secret.json"


# --- loaders and registries -----------------------------------------------------------------


def file_loader(deployment_dir: Path):
    """The loader contract: abstract path -> document, or None."""
    def load(path: str) -> dict[str, Any] | None:
        file = deployment_dir / path.lstrip("/")
        return json.loads(file.read_text()) if file.is_file() else None
    return load


def served_loader(deployment_dir: Path):
    """Documents as a deployment serves them: top-level $id and $schema absolute."""
    load = file_loader(deployment_dir)

    def served(path: str) -> dict[str, Any] | None:
        doc = load(path)
        if doc is not None:
            for key in ("$id", "$schema"):
                if isinstance(doc.get(key), str) and doc[key].startswith("/"):
                    doc[key] = ROOT_URL + doc[key]
        return doc
    return served


def memory_loader(docs: dict[str, Any]):
    return lambda path: copy.deepcopy(docs.get(path))


@pytest.fixture(scope="module")
def abstract_registry(deployment_dir: Path) -> SchemaRegistry:
    return SchemaRegistry(file_loader(deployment_dir), root_url=ROOT_URL)


@pytest.fixture(scope="module")
def served_registry(deployment_dir: Path) -> SchemaRegistry:
    return SchemaRegistry(served_loader(deployment_dir), root_url=ROOT_URL)


@pytest.fixture(params=["abstract", "served"])
def registry(request: pytest.FixtureRequest) -> SchemaRegistry:
    return request.getfixturevalue(f"{request.param}_registry")


def all_schema_paths(deployment_dir: Path) -> list[str]:
    return sorted("/" + p.relative_to(deployment_dir).as_posix()
                  for p in (deployment_dir / "schemas").rglob("*.json"))


def js_errors(registry: SchemaRegistry, path: str, instance: Any) -> list[Any]:
    """What jsonschema itself says, with the registry's documents."""
    return list(registry.validator(path).iter_errors(instance))


# --- realistic payloads ---------------------------------------------------------------------


VALID = [(CREATE_TASK, create_task), (CREATE_HOOK, create_hook),
         (CREATE_POOL, create_worker_pool), (SECRET, set_secret)]


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "name", "expected"), [
    ("queue", "v1/task.json#", "/schemas/queue/v1/task.json"),
    ("queue", "v1/task.json", "/schemas/queue/v1/task.json"),
    ("worker-manager", "v1/config-aws.json#", "/schemas/worker-manager/v1/config-aws.json"),
    ("queue", "/schemas/hooks/v1/schedule.json#", "/schemas/hooks/v1/schedule.json"),
    ("queue", "https://tc.example.com/schemas/queue/v1/task.json#",
     "/schemas/queue/v1/task.json"),
    ("queue", "https://schemas.taskcluster.net/queue/v1/task.json#",
     "/schemas/queue/v1/task.json"),
])
def test_schema_path(service: str, name: str, expected: str) -> None:
    assert SchemaRegistry.schema_path(service, name) == expected


@pytest.mark.parametrize(("service", "name", "problem"), [
    ("queue", "v1/task.json#/properties/payload", "fragment"),
    ("", "v1/task.json#", "needs a service"),
    ("queue", "../../../etc/passwd", "not under /schemas/"),
    ("queue", "/etc/passwd", "not under /schemas/"),
    ("queue", "", "non-empty"),
])
def test_schema_path_rejects(service: str, name: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SchemaRegistry.schema_path(service, name)


def test_urls_name_the_deployment() -> None:
    def nothing(path: str) -> None:
        return None

    assert SchemaRegistry(nothing, root_url="https://tc.example.com/").url(
        CREATE_TASK) == "https://tc.example.com" + CREATE_TASK
    assert SchemaRegistry(nothing, root_url="https://taskcluster.net").url(
        CREATE_TASK) == "https://schemas.taskcluster.net/queue/v1/create-task-request.json"
    assert SchemaRegistry(nothing).url(CREATE_TASK + "#") == CREATE_TASK


# --- every schema ---------------------------------------------------------------------------

GENERIC_INSTANCES = [None, True, 0, -1, 2.5, "", "x", [], ["a", "a"], {}, {"a": 1},
                     {"name": "n", "description": "d"}]


def test_every_schema_compiles(registry: SchemaRegistry, deployment_dir: Path) -> None:
    paths = all_schema_paths(deployment_dir)
    assert len(paths) > 150
    for path in paths:
        Draft6Validator.check_schema(registry.get(path))
        validator = registry.validator(path)
        assert isinstance(validator, judge_class())  # the services' rules
        assert validator.schema["$id"] == path + "#"  # served ids are keyed the same way
        assert registry.available(path)
        assert registry._fast[path] is not None, path  # jsonschema-rs judges every one
        assert registry.left_to_service(path) == (), path  # tcdyn decides it all
        for instance in GENERIC_INSTANCES:
            # the registry's verdict is its report's, fast path or not
            errors = js_errors(registry, path, instance)
            if errors:
                with pytest.raises(SchemaValidationError) as caught:
                    registry.validate(path, instance, what="probe")
                assert len(caught.value.errors) == len(errors)
            else:
                registry.validate(path, instance, what="probe")


def test_every_schema_resolves_without_refs(abstract_registry: SchemaRegistry,
                                            deployment_dir: Path) -> None:
    for path in all_schema_paths(deployment_dir):
        resolved = abstract_registry.resolved(path)
        assert resolved["$id"] == ROOT_URL + path + "#"
        assert not [pointer for pointer, node in _walk(resolved)
                    if isinstance(node.get("$ref"), str)], path
        Draft6Validator.check_schema(resolved)


# --- valid payloads -------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "make"), VALID, ids=[p for p, _ in VALID])
def test_valid_payloads_pass(registry: SchemaRegistry, path: str, make) -> None:
    payload = make()
    assert js_errors(registry, path, payload) == []
    registry.validate(path, payload, what="payload")
    assert payload == make()  # nothing was added (no defaults filled in)
    registry.validate(path, payload, what="payload")  # and again, compiled


@pytest.mark.parametrize(("path", "make"), VALID, ids=[p for p, _ in VALID])
def test_fast_path_vouches_for_valid_payloads(abstract_registry: SchemaRegistry, path: str,
                                             make) -> None:
    abstract_registry.validate(path, make(), what="payload")
    assert _fast_accepts(abstract_registry._fast[path], make())  # jsonschema not needed


# --- wrong payloads -------------------------------------------------------------------------


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


_DELETE = object()

WRONG = [
    # (schema, payload factory, field, value, expected JSON path, keyword)
    (CREATE_TASK, create_task, "provisionerId", 3, "$.provisionerId", "type"),
    (CREATE_TASK, create_task, "metadata", _DELETE, "$", "required"),
    (CREATE_TASK, create_task, "metadata.owner", _DELETE, "$.metadata", "required"),
    (CREATE_TASK, create_task, "colour", "blue", "$", "additionalProperties"),
    (CREATE_TASK, create_task, "deadline", "2024-05-02 noon", "$.deadline", "format"),
    (CREATE_TASK, create_task, "created", "2024-02-30T00:00:00Z", "$.created", "format"),
    (CREATE_TASK, create_task, "priority", "urgent", "$.priority", "enum"),
    (CREATE_TASK, create_task, "taskGroupId", "not a slug", "$.taskGroupId", "pattern"),
    (CREATE_TASK, create_task, "dependencies.1", "eYN0HRI6SXuTaTuxKaa1mw", "$.dependencies",
     "uniqueItems"),
    (CREATE_TASK, create_task, "retries", -1, "$.retries", "minimum"),
    (CREATE_TASK, create_task, "retries", 1.5, "$.retries", "type"),
    (CREATE_TASK, create_task, "routes.0", "x" * 300, "$.routes[0]", "maxLength"),
    (CREATE_HOOK, create_hook, "hookGroupId", "bad group!", "$.hookGroupId", "pattern"),
    (CREATE_HOOK, create_hook, "bindings.0.exchange", "", "$.bindings[0].exchange",
     "minLength"),
    (CREATE_HOOK, create_hook, "metadata.emailOnError", "yes", "$.metadata.emailOnError",
     "type"),
    (CREATE_HOOK, create_hook, "metadata.owner", "nobody", "$.metadata.owner", "format"),
    (CREATE_POOL, create_worker_pool, "providerId", "a" * 39, "$.providerId", "maxLength"),
    (CREATE_POOL, create_worker_pool, "config", [], "$.config", "type"),
    (CREATE_POOL, create_worker_pool, "emailOnError", _DELETE, "$", "required"),
    (SECRET, set_secret, "expires", "tomorrow", "$.expires", "format"),
    (SECRET, set_secret, "secret", "hunter2", "$.secret", "type"),
]


@pytest.mark.parametrize(("path", "make", "field", "value", "where", "keyword"), WRONG,
                         ids=[f"{p.rsplit('/', 1)[1]}:{f}:{k}" for p, _, f, _, _, k in WRONG])
def test_wrong_payloads_fail(registry: SchemaRegistry, path: str, make, field: str,
                             value: Any, where: str, keyword: str) -> None:
    payload = _set(make(), field, value)
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(path, payload, what="the payload")
    error = caught.value
    assert isinstance(error, TaskclusterFailure)
    assert (where, keyword) in [(e.path, e.keyword) for e in error.errors]
    assert error.schema == ROOT_URL + path
    assert str(error).startswith(f"the payload: 1 error (schema {ROOT_URL}{path}):\n  ")
    assert all(isinstance(e, SchemaViolation) for e in error.errors)


def test_message_lists_every_error(registry: SchemaRegistry) -> None:
    payload = create_task()
    payload["provisionerId"] = 3
    del payload["metadata"]
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(CREATE_TASK, payload, what="createTask payload")
    assert str(caught.value) == (
        f"createTask payload: 2 errors (schema {ROOT_URL}{CREATE_TASK}):\n"
        "  $.provisionerId: 3 is not of type 'string' [type]\n"
        "  $: 'metadata' is a required property [required]")
    assert [(e.path, e.keyword) for e in caught.value.errors] == [
        ("$.provisionerId", "type"), ("$", "required")]


def test_violations_locate_the_failing_keyword(registry: SchemaRegistry) -> None:
    payload = _set(create_task(), "metadata.name", 5)
    payload["provisionerId"] = 3
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(CREATE_TASK, payload, what="createTask payload")
    located = {e.path: e.schema_path for e in caught.value.errors}
    # the keywords sit in the documents the $refs lead to
    assert located == {
        "$.metadata.name": f"{ROOT_URL}/schemas/queue/v1/task-metadata.json"
                           "#/properties/name/type",
        "$.provisionerId": f"{ROOT_URL}/schemas/queue/v1/task.json#/properties/provisionerId/type",
    }


def test_many_errors_from_a_huge_instance_stay_bounded(abstract_registry: SchemaRegistry
                                                       ) -> None:
    payload = create_task()
    payload["routes"] = list(range(900))
    payload["provisionerId"] = "p" * 1_000_000
    with pytest.raises(SchemaValidationError) as caught:
        abstract_registry.validate(CREATE_TASK, payload, what="createTask payload")
    error = caught.value
    message = str(error)
    # the id's pattern, 900 items of the wrong type, and too many of them
    assert message.startswith("createTask payload: 902 errors ")
    assert len(message) < 20_000
    assert message.count("\n") == SUMMARY_LINES + 1
    assert message.endswith(f"... and {902 - SUMMARY_LINES} more")
    assert len(error.errors) == 902
    assert max(len(e.message) for e in error.errors) <= 400
    assert error.errors[0].message == (
        "'pppppppppppppppppppppppppppppppppppppppp...(+999960 chars)' does not match "
        "'^[a-zA-Z0-9-_]{1,38}$'")
    too_many = [e for e in error.errors if e.keyword == "maxItems"]
    assert [e.path for e in too_many] == ["$.routes"]
    assert too_many[0].message == "[0, 1, 2, 3, 4, 5, 6, 7, '... +892 items'] is too long"

    payload["routes"] = list(range(5000))
    with pytest.raises(SchemaValidationError) as caught:
        abstract_registry.validate(CREATE_TASK, payload, what="createTask payload")
    assert str(caught.value).startswith("createTask payload: 5002 errors ")
    assert len(caught.value.errors) == RECORDED_ERRORS


def test_secret_values_never_reach_messages(registry: SchemaRegistry) -> None:
    payload = set_secret()
    payload["secret"] = "hunter2-value"
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(SECRET, payload, what="secrets.set payload")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.errors)
    assert caught.value.errors[0].message == "<redacted> is not of type 'object'"


def test_nested_secret_values_are_redacted() -> None:
    docs = {"/schemas/t/v1/creds.json": {
        "$id": "/schemas/t/v1/creds.json#", "type": "array", "items": {"type": "string"}}}
    registry = SchemaRegistry(memory_loader(docs))
    instance = ["ok", {"user": "u", "accessToken": "TOPSECRETTOKEN"}]
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate("/schemas/t/v1/creds.json", instance, what="creds")
    text = str(caught.value) + repr(caught.value.errors)
    assert "TOPSECRETTOKEN" not in text
    assert caught.value.errors[0].message == (
        "{'user': 'u', 'accessToken': '<redacted>'} is not of type 'string'")


def test_extra_items_under_a_secret_are_redacted() -> None:
    docs = {"/schemas/t/v1/s.json": {
        "$id": "/schemas/t/v1/s.json#", "type": "object",
        "properties": {"secrets": {"items": [{"type": "string"}], "additionalItems": False}}}}
    registry = SchemaRegistry(memory_loader(docs))
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate("/schemas/t/v1/s.json", {"secrets": ["a", "TOPSECRET"]}, what="s")
    assert "TOPSECRET" not in str(caught.value) + repr(caught.value.errors)
    assert str(caught.value.errors[0]) == (
        "$.secrets: <redacted> has more items than allowed [additionalItems]")


def test_absolute_refs_resolve_through_the_loader() -> None:
    docs = {
        "/schemas/t/v1/a.json": {
            "$id": f"{ROOT_URL}/schemas/t/v1/a.json#",
            "properties": {"leaf": {"$ref": f"{ROOT_URL}/schemas/t/v1/leaf.json#"}}},
        "/schemas/t/v1/leaf.json": {"$id": f"{ROOT_URL}/schemas/t/v1/leaf.json#",
                                    "type": "string", "maxLength": 2},
    }
    registry = SchemaRegistry(memory_loader(docs), root_url=ROOT_URL)
    registry.validate("/schemas/t/v1/a.json", {"leaf": "ok"}, what="a")
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(f"{ROOT_URL}/schemas/t/v1/a.json#", {"leaf": "long"}, what="a")
    assert [(e.path, e.keyword) for e in caught.value.errors] == [("$.leaf", "maxLength")]
    assert registry.resolved("/schemas/t/v1/a.json")["properties"]["leaf"] == {
        "type": "string", "maxLength": 2}


def test_relative_names_need_a_service(abstract_registry: SchemaRegistry) -> None:
    with pytest.raises(ValueError, match=r"'v1/task\.json#' is relative"):
        abstract_registry.validate("v1/task.json#", {}, what="x")


# --- resolved -------------------------------------------------------------------------------


def test_resolved_inlines_refs(registry: SchemaRegistry) -> None:
    resolved = registry.resolved(CREATE_TASK)
    props = resolved["properties"]
    assert props["metadata"]["required"] == ["name", "description", "owner", "source"]
    assert props["provisionerId"]["pattern"] == registry.get(
        "/schemas/queue/v1/task.json")["properties"]["provisionerId"]["pattern"]
    assert props["dependencies"]["default"] == []  # an annotation beside the $ref is kept
    assert resolved["$schema"] == "http://json-schema.org/draft-06/schema#"
    # a $ref-free copy judges like the registry does
    plain = Draft6Validator(resolved, format_checker=Draft6Validator.FORMAT_CHECKER)
    assert plain.is_valid(create_task())
    assert not plain.is_valid(_set(create_task(), "metadata.owner", 5))


def test_resolved_returns_a_fresh_copy(abstract_registry: SchemaRegistry) -> None:
    first = abstract_registry.resolved(CREATE_HOOK)
    first["properties"].clear()
    assert abstract_registry.resolved(CREATE_HOOK)["properties"]


def test_resolved_cuts_recursion() -> None:
    docs = {
        "/schemas/t/v1/tree.json": {
            "$id": "/schemas/t/v1/tree.json#", "type": "object",
            "properties": {"name": {"type": "string"},
                           "children": {"type": "array", "items": {"$ref": "#"}},
                           "leaf": {"$ref": "leaf.json#"}}},
        "/schemas/t/v1/leaf.json": {"$id": "/schemas/t/v1/leaf.json#", "type": "string"},
    }
    registry = SchemaRegistry(memory_loader(docs), root_url=ROOT_URL)
    resolved = registry.resolved("/schemas/t/v1/tree.json")
    assert resolved["properties"]["leaf"] == {"type": "string"}
    assert resolved["properties"]["children"]["items"] == {
        "$comment": f"recursive: {ROOT_URL}/schemas/t/v1/tree.json#"}
    # validation follows the recursion all the way down
    deep = {"name": "a", "children": [{"name": "b", "children": [{"name": 3}]}]}
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate("/schemas/t/v1/tree.json", deep, what="tree")
    assert [e.path for e in caught.value.errors] == ["$.children[0].children[0].name"]
    registry.validate("/schemas/t/v1/tree.json", {"children": [{"leaf": "x"}]}, what="tree")


def test_resolved_follows_the_draft06_metaschema(abstract_registry: SchemaRegistry) -> None:
    resolved = abstract_registry.resolved("/schemas/common/metaschema.json")
    assert resolved["title"] == "Taskcluster JSON-Schema Meta-Schema"
    assert resolved["properties"]["not"] == {
        "$comment": "recursive: http://json-schema.org/draft-06/schema#"}
    with pytest.raises(SchemaValidationError) as caught:
        abstract_registry.validate("/schemas/common/metaschema.json", {"type": 5},
                                   what="a schema")
    assert "$.type" in [e.path for e in caught.value.errors]


# --- missing and broken schemas -------------------------------------------------------------


def test_missing_schema_is_not_available() -> None:
    registry = SchemaRegistry(lambda path: None, root_url=ROOT_URL)
    assert not registry.available(CREATE_TASK)
    for call in (registry.get, registry.resolved, registry.validator,
                 lambda p: registry.validate(p, {}, what="x")):
        with pytest.raises(SchemaNotAvailable) as caught:
            call(CREATE_TASK)
        assert isinstance(caught.value, LookupError)
        assert str(caught.value) == f"schema not available: {ROOT_URL}{CREATE_TASK}"
        assert caught.value.path == CREATE_TASK


def test_missing_referenced_schema_is_not_available() -> None:
    docs = {"/schemas/t/v1/a.json": {"$id": "/schemas/t/v1/a.json#",
                                     "properties": {"b": {"$ref": "b.json#"}}}}
    registry = SchemaRegistry(memory_loader(docs), root_url=ROOT_URL)
    assert not registry.available("/schemas/t/v1/a.json")
    assert registry.get("/schemas/t/v1/a.json") == docs["/schemas/t/v1/a.json"]
    with pytest.raises(SchemaNotAvailable) as caught:
        registry.validate("/schemas/t/v1/a.json", {}, what="x")
    assert caught.value.path == "/schemas/t/v1/b.json"
    assert caught.value.referenced_by == f"{ROOT_URL}/schemas/t/v1/a.json"
    assert "referenced by" in str(caught.value)


@pytest.mark.parametrize(("doc", "problem"), [
    (["not", "an", "object"], "x.json: schema is not a JSON object"),
    ({"$id": "/schemas/t/v1/x.json#", "type": 5}, "x.json: #/type: not a valid draft-06"),
    ({"$id": "/schemas/t/v1/other.json#"}, r"x.json: #/\$id: declares \$id"),
    ({"$id": "/schemas/t/v1/x.json#", "items": {"$ref": "https://example.org/x.json#"}},
     r"x.json: #/items/\$ref: \$ref 'https://example.org/x.json#' points outside"),
    ({"$id": "/schemas/t/v1/x.json#", "items": {"$ref": "#/definitions/nope"}},
     r"x.json: cannot be compiled: .*#/definitions/nope"),
])
def test_broken_schemas_are_reported(doc: Any, problem: str) -> None:
    registry = SchemaRegistry(lambda path: copy.deepcopy(doc), root_url=ROOT_URL)
    with pytest.raises(ReferenceLoadError, match=problem) as caught:
        registry.validate("/schemas/t/v1/x.json", {}, what="x")
    assert caught.value.source == f"{ROOT_URL}/schemas/t/v1/x.json"


def test_loader_is_asked_once_per_document(deployment_dir: Path) -> None:
    asked: list[str] = []
    load = file_loader(deployment_dir)
    registry = SchemaRegistry(lambda path: asked.append(path) or load(path))
    for _ in range(3):
        registry.validate(CREATE_TASK, create_task(), what="x")
        assert not registry.available("/schemas/queue/v1/nope.json")
    assert sorted(asked) == sorted(set(asked))
    assert {"/schemas/queue/v1/task.json", "/schemas/queue/v1/task-metadata.json",
            "/schemas/queue/v1/nope.json"} <= set(asked)


def test_import_tcdyn_schemas_only_on_use() -> None:
    probe = ("import sys, tcdyn; print(sorted(m for m in ('jsonschema', 'referencing', "
             "'fastjsonschema', 'jsonschema_rs', 'tcdyn.schemas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_jsonschema_rs_is_imported_on_first_validation() -> None:
    probe = ("import sys; from tcdyn.schemas import SchemaRegistry\n"
             "docs = {'/schemas/t/v1/a.json': {'type': 'string'}}\n"
             "registry = SchemaRegistry(docs.get)\n"
             "before = 'jsonschema_rs' in sys.modules\n"
             "registry.validate('/schemas/t/v1/a.json', 'x', what='a')\n"
             "print(before, 'jsonschema_rs' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "True"]


# --- date-time ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000Z", "2024-05-01t12:00:00z",
    "2024-05-01 12:00:00+01:00", "2024-05-01T12:00:00-0530", "2024-05-01T12:00:00+02",
    "2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2016-12-31T23:59:60Z",
    "2024-01-31T23:59:59.123456789Z", 5, None,
    "2024-05-01T12:00:00",  # ajv-formats 2.1.1 takes a missing zone (timeZone !== "")
    "2024-05-01\ufeff12:00:00Z",  # any JavaScript white space parts date and time
])
def test_date_time_accepts(value: Any) -> None:
    assert _check_format("date-time", value)


@pytest.mark.parametrize("value", [
    "2024-05-01", "2023-02-29T00:00:00Z", "2024-05-01\x1c12:00:00Z", "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z",
    "2024-05-00T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z",
    "2024-05-01T22:59:60Z", "2024-05-01T12:00:00Z\n", "2024-05-01T12:00:00.Z",
    "2024-05-01X12:00:00Z", "\uff12\uff10\uff12\uff14-05-01T12:00:00Z", "",
])
def test_date_time_rejects(value: str) -> None:
    assert not _check_format("date-time", value)


# --- the fast path agrees with jsonschema ---------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(-(2**40), 2**40)
           | st.floats(allow_nan=False, allow_infinity=False, width=32)
           | st.sampled_from([0, 1, 1.0, 2, 2.0, 0.5, 38, -1, True, False, "", "a", "A-b_9",
                              "2024-05-01T12:00:00Z", "2024-02-30T00:00:00Z", "x@y",
                              "eYN0HRI6SXuTaTuxKaa1mw", "all-completed", "lowest", "1.2.3.4",
                              "::1", "a/b", "releng\n", "low\n", 2.0**60])
           | st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["a", "b", "c", "name", "x-1", "secret", "n"])
                      | st.text(max_size=5), inner, max_size=4),
    max_leaves=10)
# what a Python caller may pass too: tuples, Decimals (jsonschema's verdict is the registry's)
python_values = json_values | st.lists(json_values, max_size=3).map(tuple) \
    | st.decimals(allow_nan=False, places=1, min_value=-3, max_value=3)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _mutate(data: st.DataObject, payload: Any) -> Any:
    payload = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(payload)))
        if not path:
            return data.draw(python_values)
        parent = payload
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(python_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=6))] = data.draw(python_values)
        else:
            parent.append(data.draw(python_values))
    return payload


def _arrays(value: Any) -> list[list[Any]]:
    if isinstance(value, dict):
        return [a for item in value.values() for a in _arrays(item)]
    if isinstance(value, list):
        return [value, *(a for item in value for a in _arrays(item))]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(s for item in value.values() for s in _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def _agrees(registry: SchemaRegistry, path: str, instance: Any) -> None:
    """The fast check's verdict (through the registry's check) is the report's, and
    validate() reports what the report's validator finds."""
    errors = js_errors(registry, path, instance)
    assert registry._fast[path] is not None, f"the fast check stands aside for {path}"
    fast = _fast_accepts(registry._fast[path], instance)
    assert not (fast and errors), f"fast path accepted what the report rejects: {errors[0]}"
    if not fast and not errors:
        # the known differences: values json.loads never makes (or the service reads
        # otherwise) go to the report, and so do format: regex strings the fast check
        # cannot vouch for (tcdyn.schemas.rust_check._SURELY_A_REGEX)
        assert not _plain_json(instance) or any(
            set(text) & set("\\()[]{}*+?|") for text in _strings(instance)), instance
    if errors:
        with pytest.raises(SchemaValidationError) as caught:
            registry.validate(path, instance, what="x")
        assert len(caught.value.errors) == len(errors)
    else:
        registry.validate(path, instance, what="x")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), case=st.sampled_from(VALID))
def test_fast_path_agrees_on_mutated_payloads(abstract_registry: SchemaRegistry,
                                              data: st.DataObject, case) -> None:
    path, make = case
    abstract_registry.validate(path, make(), what="x")
    _agrees(abstract_registry, path, _mutate(data, make()))


KITCHEN_SINK = {
    "/schemas/t/v1/sink.json": {
        "$id": "/schemas/t/v1/sink.json#",
        "type": "object",
        "properties": {
            "int": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10, "multipleOf": 2},
            "num": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 2.5,
                    "multipleOf": 1},
            "s": {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^[a-z]"},
            "end": {"oneOf": [{"pattern": "^a$"}, {"pattern": "a"}]},
            "dollar": {"oneOf": [{"pattern": "^a+$"}, {"pattern": "a\\$$"}]},
            "e": {"enum": ["a", 1, True, None, [1], {"x": 1}]},
            "c": {"const": 1},
            "cs": {"const": [True, {"k": "v"}]},
            "when": {"format": "date-time"},
            "ip": {"oneOf": [{"format": "ipv4"}, {"format": "ipv6"}], "type": "string"},
            "mail": {"type": "string", "format": "email"},
            "link": {"anyOf": [{"format": "uri"}, {"format": "hostname"},
                               {"format": "uri-reference"}, {"format": "json-pointer"},
                               {"format": "uri-template"}, {"format": "regex"}],
                     "not": {"format": "date"}},
            "tuple": {"items": [{"type": "string"}, {"type": "integer"}],
                      "additionalItems": False},
            "tuple2": {"items": [{"type": "string"}], "additionalItems": {"type": "boolean"}},
            "list": {"type": "array", "items": {"$ref": "#/definitions/small"},
                     "minItems": 1, "maxItems": 3},
            "has": {"type": "array", "contains": {"const": "x"}},
            "no": {"not": {"type": "string"}},
            "one": {"oneOf": [{"type": "integer"}, {"minimum": 2}]},
            "any": {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "null"}]},
            "all": {"allOf": [{"type": "object"}, {"required": ["a"]}, {"maxProperties": 2}]},
            "deps": {"dependencies": {"a": ["b"], "c": {"required": ["d"]}},
                     "minProperties": 1},
            "names": {"propertyNames": {"pattern": "^[a-c]+$"}},
            "pp": {"patternProperties": {"^x": {"type": "integer"}, "-1$": {"minimum": 0}},
                   "properties": {"x-1": {"maximum": 5}}, "additionalProperties": False},
            "ap": {"additionalProperties": {"type": "string"}},
            "bool": {"type": "boolean"},
            "never": False,
            "always": True,
            "tree": {"$ref": "tree.json#"},
        },
        "additionalProperties": {"type": ["string", "object"]},
        "definitions": {
            "small": {"type": ["string", "integer"], "maxLength": 2, "maximum": 5},
        },
    },
    "/schemas/t/v1/tree.json": {
        "$id": "/schemas/t/v1/tree.json#", "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#"}},
                       "v": {"type": "integer"}}},
    # uniqueItems apart: beside a not or a oneOf it leaves the schema to jsonschema
    "/schemas/t/v1/unique.json": {
        "properties": {
            "u": {"uniqueItems": True},
            "ulist": {"type": "array", "items": {"type": ["string", "integer"], "maxLength": 2},
                      "maxItems": 3, "uniqueItems": True},
        },
    },
}
SINKS = ["/schemas/t/v1/sink.json", "/schemas/t/v1/unique.json"]


def _some(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


_words = st.text(alphabet="abcxyZ1-", max_size=4)
_keys = st.sampled_from(["a", "b", "c", "d", "x", "xa", "x-1", "y-1", "y", "ab", "Z"])
# values aimed at each property's edges (generic JSON alone rarely reaches them)
SINK_PROPERTIES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-3, 12) | st.floats(-3, 12) | _some(4.0, True, "4", 2.0**60, Decimal(4)),
    "num": st.none() | st.integers(-1, 3) | st.floats(-1, 3)
    | _some(0.5, 1.0, 1.5, 2.5, 0.3, 2.4999, 0, 0.0, True, math.inf, Decimal("1.0")),
    "s": _words | _some(3, None),
    "end": _some("a", "a\n", "ba", "a\nb", "\na", "b", 1),
    "dollar": _some("a", "$", "a$", "a$\n", "aa\n", "$\n", "b$", "aa$"),
    "e": _some("a", "b", 1, 1.0, 0, True, False, None, [1], [True], {"x": 1}, {"x": True},
               (1,), Decimal(1)),
    "c": _some(1, 1.0, True, "1", 2, [1], Decimal(1)),
    "cs": _some([True, {"k": "v"}], [1, {"k": "v"}], [True, {"k": "w"}], [True], (True,)),
    "when": _some("2024-05-01T12:00:00Z", "2024-02-30T00:00:00Z", "2024-05-01", 5) | _words,
    "ip": _some("1.2.3.4", "::1", "1.2.3", "01.2.3.4", "::ffff:1.2.3.4", "x", 5),
    "mail": _some("a@b", "ab", 3, ""),
    "link": _some("not a uri", "-bad-", "/a~2", "{x", "(", "2024-05-01", 3),
    "tuple": st.lists(_words | st.integers(0, 2) | st.booleans(), max_size=3)
    | st.builds(lambda a, b, rest: [a, b, *rest], _words, st.integers(0, 2),
                st.lists(_words | st.booleans(), max_size=2)),
    "tuple2": st.lists(_words | st.booleans(), max_size=3),
    "list": st.lists(_some("a", "ab", "abc", 1, 5, 6, True, 1.0), max_size=4)
    | _some(("a",)),
    "has": st.lists(_some("x", "y", 1), max_size=3) | _some("x", ("x",)),
    "u": st.lists(_some(1, True, 1.0, "1", [1], [True], {"a": 1}, {"a": True}, 0, False,
                        [[1]], [[True]], [1.0]), max_size=3),
    "ulist": st.lists(_some("a", "ab", "abc", 1, 5, True, 1.0), max_size=4),
    "no": scalars,
    "one": _some(1, 2, 3, 2.5, 1.5, "a", True, 2.0),
    "any": _some("a", "abc", None, 1),
    "all": st.dictionaries(_keys, st.integers(0, 2), max_size=3) | _some([]),
    "deps": st.dictionaries(_keys, st.integers(0, 2), max_size=4),
    "names": st.dictionaries(_words, st.integers(0, 2), max_size=3),
    "pp": st.dictionaries(_keys, st.integers(-2, 7) | _words, max_size=3),
    "ap": st.dictionaries(_keys, _words | st.integers(0, 2), max_size=3),
    "bool": st.booleans() | st.integers(0, 1),
    "never": scalars,
    "always": scalars,
    "tree": st.recursive(st.fixed_dictionaries({}, optional={"v": _some(1, "1", 1.0)}),
                         lambda inner: st.fixed_dictionaries(
                             {"kids": st.lists(inner, max_size=2)},
                             optional={"v": _some(1, "1")}), max_leaves=4),
}
sink_values = st.fixed_dictionaries({}, optional={
    **SINK_PROPERTIES, "other": _words | st.integers(0, 1) | _some({"k": 1})}) | json_values


_SINK = SchemaRegistry(memory_loader(KITCHEN_SINK))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(instance=sink_values)
def test_fast_path_agrees_on_every_keyword(instance: Any) -> None:
    for sink in SINKS:
        _agrees(_SINK, sink, instance)
        assert _SINK._fast[sink] is not None  # fastjsonschema judges this schema
        if isinstance(instance, dict):
            # one property at a time too: in a larger instance another error hides a wrong
            # answer
            for key, value in instance.items():
                _agrees(_SINK, sink, {key: value})


def test_sink_strategies_cover_the_schema() -> None:
    assert set(SINK_PROPERTIES) == {name for sink in SINKS
                                    for name in KITCHEN_SINK[sink]["properties"]}


# --- where fastjsonschema alone would judge differently ----------------------------------------

T = "/schemas/t/v1/t.json"


def _alone(schema: dict[str, Any]) -> Any:
    """fastjsonschema with no help: what the registry must not trust blindly."""
    return fastjsonschema.compile({"$schema": "http://json-schema.org/draft-06/schema#",
                                   "$id": "https://tcdyn.invalid" + T + "#", **schema})


def _passes(validate: Any, instance: Any) -> bool:
    try:
        validate(instance)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@pytest.mark.parametrize(("schema", "instance", "keyword", "aside"), [
    # Decimal arithmetic: 0.3 is a multiple of 0.1; the services' division (as ajv's
    # 0.3 / 0.1 == 2.9999999999999996) says no: jsonschema-rs gets tcdyn's keyword for it
    ({"multipleOf": 0.1}, 0.3, "multipleOf", False),
    # two $ref targets whose generated functions get one name ("a-b" and "a_b"): only
    # fastjsonschema has that problem, jsonschema-rs judges the schema
    ({"definitions": {"a-b": {"type": "string"}, "a_b": {"type": "integer"}},
      "properties": {"x": {"$ref": "#/definitions/a-b"}, "y": {"$ref": "#/definitions/a_b"}}},
     {"x": "s", "y": "s"}, "type", False),
])
def test_fast_path_stands_aside(schema: dict[str, Any], instance: Any, keyword: str,
                                aside: bool) -> None:
    assert _passes(_alone(schema), instance)  # the difference this guards against
    registry = SchemaRegistry(memory_loader({T: schema}))
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(T, instance, what="t")
    assert [e.keyword for e in caught.value.errors] == [keyword]
    assert (registry._fast[T] is None) is aside  # None: jsonschema alone judges it


def test_unique_items_as_the_services_compare() -> None:
    # jsonschema's own uniqueItems misses the duplicate [True] (it compares sorted neighbours)
    registry = SchemaRegistry(memory_loader({T: {"not": {"uniqueItems": True}}}))
    registry.validate(T, [[True], [1], [True]], what="t")
    with pytest.raises(SchemaValidationError):
        registry.validate(T, [[True], [1]], what="t")  # true is not 1 to ajv either
    registry.validate(T, [1, 1.0], what="t")  # but 1.0 is 1


@pytest.mark.parametrize(("schema", "valid", "invalid", "aside"), [
    # an $id below the top: fastjsonschema would stand aside, jsonschema-rs reads it
    ({"properties": {"a": {"$id": "other.json#", "type": "string"}}}, {"a": "x"}, {"a": 1},
     False),
    ({"properties": {"a": {"id": "other.json#", "type": "string"}}}, {"a": "x"}, {"a": 1},
     False),
    # fastjsonschema's \Z fails to compile in a set; jsonschema-rs gets "[\$a]"
    ({"pattern": "^[$a]+$"}, "a$", "a$b", False),
])
def test_fast_path_stands_aside_from_ids_and_anchors(schema: dict[str, Any], valid: Any,
                                                     invalid: Any, aside: bool) -> None:
    registry = SchemaRegistry(memory_loader({T: schema}))
    registry.validate(T, valid, what="t")
    assert (registry._fast[T] is None) is aside
    with pytest.raises(SchemaValidationError):
        registry.validate(T, invalid, what="t")


def test_dollar_anchors_match_as_the_services_read_them() -> None:
    schema = {"oneOf": [{"pattern": "^a$"}, {"pattern": "a"}]}
    registry = SchemaRegistry(memory_loader({T: schema}))
    registry.validate(T, "a\n", what="t")  # JavaScript's "$" is the end: one match only
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(T, "a", what="t")  # two
    assert [e.keyword for e in caught.value.errors] == ["oneOf"]
    assert registry._fast[T] is not None
    registry.validate(T, "ab", what="t")


def test_non_json_values_go_to_jsonschema(abstract_registry: SchemaRegistry) -> None:
    payload = create_task()
    payload["dependencies"] = tuple(payload["dependencies"])  # an array to fastjsonschema
    abstract_registry._fast[CREATE_TASK](payload)
    with pytest.raises(SchemaValidationError) as caught:
        abstract_registry.validate(CREATE_TASK, payload, what="createTask payload")
    assert [(e.path, e.keyword) for e in caught.value.errors] == [("$.dependencies", "type")]


@pytest.mark.parametrize(("value", "plain"), [
    (json.loads('{"a": [1, 2.5, "x", true, null, {"b": []}]}'), True),
    ([1, (2,)], False), ({"a": Decimal(1)}, False), ([math.nan], False), (math.inf, False),
    (2.0**53, False), (2**53, True), (-(2**53), True), (2**53 + 1, False), (2**60, False),
    ([2**64], False), (OrderedDict(a=1), False), ({"a": b"x"}, False),
])
def test_plain_json(value: Any, plain: bool) -> None:
    assert _plain_json(value) is plain


@pytest.mark.parametrize("name", ["date-time", "email", "hostname", "ipv4", "ipv6", "uri",
                                  "uri-reference", "uri-template", "json-pointer", "regex",
                                  "date", "time", "uuid", "idn-email", "nonsense"])
def test_formats_are_judged_alike(name: str) -> None:
    registry = SchemaRegistry(memory_loader({T: {"format": name}}))
    for value in ["", "x", "a b", "-bad-", "[", "2024-05-01", "2024-05-01T12:00:00Z",
                  "2024-05-01 12:00:00Z", "2024-05-01T12:00:60Z", "a@b", "1.2.3.4", "::1",
                  "http://x/y", "/a~0", "{x}", 5]:
        _agrees(registry, T, value)


@pytest.mark.parametrize(("ref", "fast"), [
    (f"{ROOT_URL}/schemas/t/v1/leaf.json#", True),
    ("http://tc.example.com/schemas/t/v1/leaf.json#", True),
    ("leaf.json#", True), ("file:///schemas/t/v1/leaf.json#", True),
])
def test_refs_are_only_read_from_the_loader(ref: str, fast: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # fastjsonschema reads a $ref whose scheme has no handler through urllib
    fetched: list[str] = []

    def urlopen(url: str, *args: Any, **kwargs: Any) -> None:
        fetched.append(url)
        raise OSError("no fetching here")

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    docs = {T: {"properties": {"a": {"$ref": ref}}},
            "/schemas/t/v1/leaf.json": {"type": "string"}}
    asked: list[str] = []
    registry = SchemaRegistry(lambda path: asked.append(path) or copy.deepcopy(docs.get(path)))
    registry.validate(T, {"a": "x"}, what="t")
    assert (registry._fast[T] is not None) is fast  # a file: $ref leaves jsonschema alone
    assert asked == [T, "/schemas/t/v1/leaf.json"]
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(T, {"a": 1}, what="t")
    assert [(e.path, e.keyword) for e in caught.value.errors] == [("$.a", "type")]
    assert fetched == []
