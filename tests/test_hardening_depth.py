"""Values nested far deeper than any Taskcluster payload: a clear typed error, before anything
is sent, and never a crash of the process (jsonschema-rs overflows its native stack on a
~100,000-deep list under a recursive schema, which no Python code can catch)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

import tcdyn
from tcdyn.errors import SchemaValidationError, TaskclusterArgumentError
from tcdyn.testing.server import LocalDeployment


def _deep_list(levels: int) -> Any:
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


def _task(payload: Any) -> dict[str, Any]:
    return {"provisionerId": "p", "workerType": "w", "created": "2026-01-01T00:00:00Z",
            "deadline": "2026-01-01T01:00:00Z", "payload": payload,
            "metadata": {"name": "n", "description": "d", "owner": "a@example.com",
                         "source": "https://example.com"}}


@pytest.mark.parametrize("levels", [5_000, 100_000])
def test_a_payload_too_deep_to_encode_is_an_argument_error_before_sending(levels: int) -> None:
    """Either the encoder gives up (an ArgumentError) or, where it goes deeper (Python
    3.13's), the schema check does ("too deep to check"): both typed, both before sending."""
    task = _task({"x": _deep_list(levels)})
    refused = (r"createTask\(\) payload cannot be sent as JSON: it is nested too deeply"
               r"|createTask payload: cannot be checked .* too deep to check")
    with LocalDeployment() as dep, tcdyn.Queue(rootUrl=dep.root_url) as queue:
        with pytest.raises((TaskclusterArgumentError, SchemaValidationError), match=refused):
            queue.createTask("abc", task)
        assert dep.requests == []
    with pytest.raises((TaskclusterArgumentError, SchemaValidationError), match=refused):
        tcdyn.Queue.createTask.validate(task)


def test_a_deep_value_under_a_recursive_schema_does_not_crash_the_process() -> None:
    """Run in a child: on the old order (the compiled check before the walk) the child dies
    with SIGSEGV instead of raising."""
    script = textwrap.dedent("""
        from tcdyn.errors import SchemaValidationError
        from tcdyn.schemas import SchemaRegistry
        T = "/schemas/t/v1/t.json"
        reg = SchemaRegistry({T: {"type": "array", "items": {"$ref": "#"}}}.get)
        reg.validate(T, [[[]]], what="t")  # the check is built, and fine at a sane depth
        value = []
        for _ in range(100_000):
            value = [value]
        try:
            reg.validate(T, value, what="t")
        except SchemaValidationError as e:
            print("refused:", str(e)[:200])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "refused:" in done.stdout and "too deep to check" in done.stdout, done.stdout
