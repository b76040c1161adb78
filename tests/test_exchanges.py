"""Routing keys: building bindings, parsing received keys, ``Binding`` and ``BaseEvents``.

Exchange classes are the metaclass's, built from the deployment's ``exchanges.json`` files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcdyn.errors import TaskclusterTopicExchangeFailure
from tcdyn.exchanges import (
    BaseEvents,
    Binding,
    RoutingKeyError,
    build_routing_key,
    parse_routing_key,
    schema_path,
)

SERVICES = ("queue", "hooks", "github", "worker-manager", "auth", "notify")
ROOT_URL = "https://tc.example.com"


def _events_class(deployment_dir: Path, service: str) -> type[BaseEvents]:
    import tcdyn
    from tcdyn.model.reference import class_name

    return getattr(tcdyn.load(deployment_dir), class_name(service, "exchanges"))


@pytest.fixture(scope="module")
def classes(deployment_dir: Path) -> dict[str, type[BaseEvents]]:
    return {s: _events_class(deployment_dir, s) for s in SERVICES}


@pytest.fixture(scope="module")
def qe(classes) -> BaseEvents:
    return classes["queue"]()


# -- the user story ------------------------------------------------------------------------

def test_user_story(qe):
    b = qe.taskCompleted(taskGroupId="abc")
    assert b.exchange == "exchange/taskcluster-queue/v1/task-completed"
    assert b.routingKeyPattern == "primary.*.*.*.*.*.*.*.abc.#"
    assert b.name == "taskCompleted"
    assert b.service == "queue"
    assert b.schema == "/schemas/queue/v1/task-completed-message.json#"
    assert [k["name"] for k in b.routingKeyReference][:2] == ["routingKeyKind", "taskId"]
    assert qe.taskCompleted({"taskGroupId": "abc"}) == b
    assert b["exchange"] == b.exchange
    assert b["routingKeyPattern"] == b.routingKeyPattern
    assert dict(b) == {"exchange": b.exchange, "routingKeyPattern": b.routingKeyPattern}
    assert qe.parse_routing_key("task-completed", "primary.T.0.wg.wi.prov.wt.sched.grp._") == {
        "routingKeyKind": "primary", "taskId": "T", "runId": "0", "workerGroup": "wg",
        "workerId": "wi", "provisionerId": "prov", "workerType": "wt",
        "schedulerId": "sched", "taskGroupId": "grp", "reserved": None,
    }


def test_every_word_form(qe):
    assert qe.taskDefined().routingKeyPattern == "primary.*.*.*.*.*.*.*.*.#"
    full = qe.taskRunning(taskId="t", runId=0, workerGroup="g", workerId="w",
                          provisionerId="p", workerType="wt", schedulerId="s",
                          taskGroupId="tg", reserved="a.b.c")
    assert full.routingKeyPattern == "primary.t.0.g.w.p.wt.s.tg.a.b.c"
    assert qe.taskPending(taskId=None).routingKeyPattern == "primary.*.*.*.*.*.*.*.*.#"
    assert qe.taskPending(routingKeyKind="primary", runId="*").routingKeyPattern == (
        "primary.*.*.*.*.*.*.*.*.#")
    plain = qe.taskDefined("route.index.my-project.#")
    assert plain.routingKeyPattern == "route.index.my-project.#"
    assert plain.name == "taskDefined" and plain.routingKeyReference


@pytest.mark.parametrize(("call", "match"), [
    (lambda q: q.taskCompleted(bogus="x"), "unknown routing-key word.*'bogus'"),
    (lambda q: q.taskCompleted({"taskId": "a.b"}), "'taskId' is a single word.*'.'"),
    (lambda q: q.taskCompleted(taskId="#"), "'taskId' is a single word; '#'"),
    (lambda q: q.taskCompleted(taskId=""), "'taskId' is empty"),
    (lambda q: q.taskCompleted(taskId=True), "'taskId' must be a str or int, got bool"),
    (lambda q: q.taskCompleted(taskId=["a"]), "must be a str or int, got list"),
    (lambda q: q.taskCompleted(reserved="a..b"), "'reserved' has an empty word"),
    (lambda q: q.taskCompleted(routingKeyKind="secondary"), "is the constant 'primary'"),
    (lambda q: q.taskCompleted({"taskId": "a"}, taskId="b"), "not both"),
    (lambda q: q.taskCompleted("a", "b"), "at most one positional argument, got 2"),
    (lambda q: q.taskCompleted(42), "expected a dict .* got int"),
    (lambda q: q.taskCompleted(""), "the pattern is empty"),
    (lambda q: q._binding("nope", (), {}), "no exchange entry 'nope'"),
])
def test_bad_binding_arguments_name_the_problem(qe, call, match):
    with pytest.raises(TaskclusterTopicExchangeFailure, match=match) as info:
        call(qe)
    assert isinstance(info.value, TypeError)
    assert "QueueEvents" in str(info.value)


def test_parse_by_any_exchange_name_and_cc_routes(qe):
    key = "primary.T.0.wg.wi.prov.wt.sched.grp.x.y"
    expected = qe.parse_routing_key("taskCompleted", key)
    assert expected["reserved"] == "x.y"
    assert qe.parse_routing_key("task-completed", key) == expected
    assert qe.parse_routing_key("exchange/taskcluster-queue/v1/task-completed", key) == expected
    assert qe.taskCompleted().parse(key) == expected
    assert qe.parse_routing_key("task-completed", "route.index.a.b") == {"route": "index.a.b"}
    with pytest.raises(RoutingKeyError, match=r"no exchange 'task-exploded'.*task-completed"):
        qe.parse_routing_key("task-exploded", key)


@pytest.mark.parametrize(("key", "match"), [
    ("primary.T.0", "has 3 word\\(s\\), expected at least 9"),
    ("secondary.T.0.wg.wi.prov.wt.sched.grp", "must be 'primary', got 'secondary'"),
])
def test_parse_errors(qe, key, match):
    with pytest.raises(RoutingKeyError, match=match):
        qe.parse_routing_key("task-completed", key)
    assert issubclass(RoutingKeyError, ValueError)


def test_parse_without_multiword_key_needs_exact_length(classes):
    gh = classes["github"]()
    assert gh.parse_routing_key("push", "primary.org.repo") == {
        "routingKeyKind": "primary", "organization": "org", "repository": "repo"}
    with pytest.raises(RoutingKeyError, match="expected 3"):
        gh.parse_routing_key("push", "primary.org.repo.extra")
    with pytest.raises(RoutingKeyError, match="no routing-key reference"):
        Binding("exchange/x", "#").parse("a.b")


def test_binding_behaves_like_the_official_dict(qe):
    b = qe.taskFailed(taskId="t")
    assert list(b) == ["exchange", "routingKeyPattern"] and len(b) == 2
    assert "exchange" in b and "name" not in b
    with pytest.raises(KeyError):
        b["name"]
    assert json.loads(json.dumps(dict(b))) == dict(b)
    assert hash(b) == hash(qe.taskFailed({"taskId": "t"}))
    assert len({b, qe.taskFailed(taskId="t"), qe.taskFailed()}) == 2
    with pytest.raises(AttributeError):
        b.exchange = "other"  # type: ignore[misc]
    assert Binding.coerce(dict(b)) == Binding(b.exchange, b.routingKeyPattern)
    assert Binding.coerce(b) is b
    with pytest.raises(TaskclusterTopicExchangeFailure, match="non-empty str"):
        Binding("", "#")


def test_options_like_the_official_client(classes):
    queue_events = classes["queue"]
    q = queue_events({"rootUrl": ROOT_URL, "credentials": {"clientId": "c",
                                                           "accessToken": "secret-token"}})
    assert q.rootUrl == ROOT_URL
    assert "credentials" not in q.options
    assert "secret-token" not in repr(q)
    assert queue_events(rootUrl=ROOT_URL).rootUrl == ROOT_URL
    custom = queue_events({"exchangePrefix": "exchange/my-queue/v1/"})
    assert custom.taskDefined().exchange == "exchange/my-queue/v1/task-defined"
    assert custom.exchange_name("taskDefined") == "exchange/my-queue/v1/task-defined"
    with pytest.raises(TypeError, match="options must be a dict"):
        queue_events("https://tc.example.com")


def test_bindings_for_selects_exchanges_by_word(qe, classes):
    group = qe.bindings_for(taskGroupId="g")
    assert [b.name for b in group] == list(qe._entries)  # every queue exchange has the word
    assert all(b.parse(b.routingKeyPattern)["taskGroupId"] == "g" for b in group)
    assert {b.name for b in qe.bindings_for(taskId="t", runId=0)} == {
        "taskDefined", "taskPending", "taskRunning", "artifactCreated", "taskCompleted",
        "taskFailed", "taskException", "taskPriorityChanged"}
    assert classes["hooks"]().bindings_for(taskId="t") == []


def test_schema_path():
    assert schema_path("queue", "v1/x.json#") == "/schemas/queue/v1/x.json#"
    assert schema_path("queue", "/schemas/q/v1/x.json#") == "/schemas/q/v1/x.json#"
    assert schema_path("queue", None) is None


def test_importing_exchanges_stays_light():
    code = ("import sys, tcdyn.exchanges; "
            "print(sorted(m for m in ('aio_pika', 'jsonschema', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


# -- agreement with the official client ------------------------------------------------------

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
                min_size=1, max_size=10).filter(lambda w: w != "_")
_MULTI = st.lists(_WORD, min_size=1, max_size=4).map(".".join)


def _entries(deployment_dir: Path) -> list[tuple[str, str]]:
    out = []
    for service in SERVICES:
        path = deployment_dir / "references" / service / "v1" / "exchanges.json"
        out += [(service, e["name"]) for e in json.loads(path.read_text())["entries"]]
    return out


@st.composite
def _words(draw: st.DrawFn, reference: list[dict[str, Any]], *, every: bool
           ) -> dict[str, str]:
    words = {}
    for key in reference:
        if "constant" in key or not (every or draw(st.booleans())):
            continue
        words[key["name"]] = draw(_MULTI if key.get("multipleWords") else _WORD)
    return words


def test_patterns_match_the_official_client(classes, deployment_dir):
    taskcluster = pytest.importorskip("taskcluster")
    entries = _entries(deployment_dir)

    @settings(max_examples=200, deadline=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        service, name = data.draw(st.sampled_from(entries))
        ours = classes[service]()
        official_class = getattr(taskcluster, type(ours).__name__)
        official = official_class({"rootUrl": ROOT_URL})
        if not hasattr(official, name):
            return  # an entry newer than the installed official client
        words = data.draw(_words(ours._entries[name]["routingKey"], every=False))
        assert dict(getattr(ours, name)(**words)) == getattr(official, name)(**words)

    check()


# -- build then parse --------------------------------------------------------------------------

@st.composite
def _references(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Routing-key references of any shape: constants, single words, at most one multi."""
    n = draw(st.integers(1, 8))
    multi_at = draw(st.none() | st.integers(0, n - 1))
    ref: list[dict[str, Any]] = []
    for i in range(n):
        key: dict[str, Any] = {"name": f"w{i}", "multipleWords": i == multi_at,
                               "required": draw(st.booleans())}
        if i != multi_at and draw(st.integers(0, 4)) == 0:
            key["constant"] = draw(_WORD)
        ref.append(key)
    return ref


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_build_then_parse_is_identity_for_concrete_keys(data):
    reference = data.draw(_references())
    words = data.draw(_words(reference, every=True))
    key = build_routing_key(reference, words)
    assert "*" not in key and "#" not in key
    parsed = parse_routing_key(reference, key)
    constants = {k["name"]: k["constant"] for k in reference if "constant" in k}
    assert parsed == {**words, **constants}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_parse_reads_wildcards_and_absent_words(data):
    reference = data.draw(_references())
    words = data.draw(_words(reference, every=False))
    pattern = build_routing_key(reference, words)
    parsed = parse_routing_key(reference, pattern)
    for key in reference:
        name = key["name"]
        expected = key.get("constant") or words.get(name) or (
            "#" if key["multipleWords"] else "*")
        assert parsed[name] == expected
    # Publishers write '_' for an absent word: it parses to None.
    published = build_routing_key(reference, {
        k["name"]: words.get(k["name"], "_") for k in reference if "constant" not in k})
    absent = parse_routing_key(reference, published)
    assert {n for n, v in absent.items() if v is None} == {
        k["name"] for k in reference if "constant" not in k and k["name"] not in words}


@settings(max_examples=300, deadline=None)
@given(reference=_references(), key=st.lists(st.sampled_from(["a", "_", "route", "b.c", ""]),
                                             max_size=10).map(".".join))
def test_parse_fails_only_with_routing_key_error(reference, key):
    try:
        parsed = parse_routing_key(reference, key)
    except RoutingKeyError:
        return
    assert set(parsed) <= {k["name"] for k in reference} | {"route"}
