"""What a REPL user sees: classes, methods, signatures, docstrings, dir() and help()."""

from __future__ import annotations

import inspect
import pydoc

import pytest

import tcdyn
from helpers import one_line_signatures
from tcdyn.classes.meta import BoundMethod, Method


def test_class_names_follow_the_official_clients():
    assert tcdyn.PurgeCache.serviceName == "purge-cache"
    assert tcdyn.WorkerManager.serviceName == "worker-manager"
    assert tcdyn.QueueEvents.serviceName == "queue"
    assert tcdyn.Queue is tcdyn.Queue and tcdyn.aio.Queue is not tcdyn.Queue
    assert tcdyn.Queue.__module__ == "tcdyn" and tcdyn.aio.Queue.__module__ == "tcdyn.aio"
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        tcdyn.Nope  # noqa: B018


def test_every_entry_is_a_method_in_reference_order():
    model = tcdyn.Queue._model
    assert tcdyn.Queue.methods == list(model.entries)
    for name in model.entries:
        assert isinstance(inspect.getattr_static(tcdyn.Queue, name), Method)
        assert name in dir(tcdyn.Queue)


def test_signatures_come_from_the_reference():
    sig = inspect.signature(tcdyn.Queue.createTask)
    assert list(sig.parameters) == ["self", "taskId", "payload", "workerImplementation"]
    sig = inspect.signature(tcdyn.Queue(rootUrl="https://tc.example.com").listTaskGroup)
    assert list(sig.parameters) == ["taskGroupId", "query"]
    assert sig.parameters["query"].kind is inspect.Parameter.KEYWORD_ONLY
    assert str(inspect.signature(tcdyn.Queue.getLatestArtifact)) == \
        "(self, /, taskId: str, name: str) -> Any"


def test_docstrings_carry_title_route_scopes_and_stability():
    doc = tcdyn.Queue.createTask.__doc__
    assert doc.startswith("Create New Task")
    assert "PUT /task/<taskId>  [stable]" in doc
    assert "payload (v1/create-task-request.json#)" in doc
    assert "queue:create-task:project:<projectId>" in doc and "Scopes:" in doc
    assert "Paginated" in tcdyn.Queue.listTaskGroup.__doc__
    assert "Exchange: exchange/taskcluster-queue/v1/task-completed" in \
        tcdyn.QueueEvents.taskCompleted.__doc__


def test_help_renders_methods_and_classes():
    text = one_line_signatures(
        pydoc.render_doc(tcdyn.Queue.createTask, renderer=pydoc.plaintext))
    assert ("createTask(self, /, taskId: str, payload: dict, *, workerImplementation: "
            "str | None = None)") in text
    assert "Create New Task" in text
    text = pydoc.render_doc(tcdyn.Queue, renderer=pydoc.plaintext)
    assert "createTask" in text and "listTaskGroup" in text
    q = tcdyn.Queue(rootUrl="https://tc.example.com")
    assert isinstance(q.task, BoundMethod)
    assert "Get Task Definition" in pydoc.render_doc(q.task, renderer=pydoc.plaintext)


def test_reprs():
    assert repr(tcdyn.Queue).startswith("<class tcdyn.Queue: queue/v1, ")
    assert "bundled references" in repr(tcdyn.Queue)
    assert repr(tcdyn.Queue.task) == "<tcdyn method Queue.task(taskId: str)>"
    q = tcdyn.Queue(rootUrl="https://tc.example.com")
    assert repr(q.task).startswith("<bound method Queue.task of <tcdyn.Queue ")


def test_module_dir_lists_services():
    names = dir(tcdyn)
    assert {"Queue", "QueueEvents", "Auth", "load", "Credentials"} <= set(names)
    assert {"Queue", "HooksEvents"} <= set(dir(tcdyn.aio))
