"""Typed payloads and responses (issue 23 item 4, issue 25) under both type checkers: the
accepted samples (tests/typing/sample_user.py, examples/create_task.py) pass mypy --strict
and basedpyright (they are in the configured files of test_typing's clean runs), and here
each kind of mistake is flagged by both, on its own line."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import pytest

from test_typing import ROOT, mypy, pyright

# The type checkers read the source, not the running interpreter: scripts/pythons.sh
# leaves these to the main venv's suite (-m "not typecheck").
pytestmark = pytest.mark.typecheck

TASK = ('{"taskQueueId": "proj/ci", "created": "2030-01-01T00:00:00Z", '
        '"deadline": "2030-01-01T01:00:00Z", "payload": {}, '
        '"metadata": {"name": "n", "description": "d", "owner": "o@example.com", '
        '"source": "https://example.com"}')

#: line text -> the mistake it makes (each line is one mistake).
MISTAKES = {
    f'q.createTask("t", {TASK}, "priorty": "high"}})': "a misspelled key",
    'q.createTask("t", {"taskQueueId": "proj/ci", "created": "x", "payload": {}, '
    '"metadata": {"name": "n", "description": "d", "owner": "o", "source": "s"}})':
        "a missing required key (deadline)",
    f'q.createTask("t", {TASK}, "retries": "5"}})': "a wrong type (retries as a str)",
    f'q.createTask("t", {TASK}, "priority": "urgent"}})': "a value outside the enum",
    'n: int = q.task("t")["deadline"]': "a response's str used as an int",
    'q.task("t")["deadlin"]': "a response's misspelled key",
    f'q.createTask("t", {TASK}}}, workerImplementation="generic-worker")':
        "an unknown worker implementation",
    'bad: GenericWorkerPayload = {"command": [["true"]], "maxRunTime": "600"}':
        "a wrong type in a worker payload",
}


def flagged(output: str, script: Path) -> set[int]:
    """Line numbers of ``script`` the checker reported an error on (mypy's
    ``path:LINE: error`` and pyright's ``path:LINE:COL - error``)."""
    lines = set()
    for match in re.finditer(rf"{re.escape(script.name)}:(\d+):(?:\d+ -)? error", output):
        lines.add(int(match.group(1)))
    return lines


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str]]:
    script = tmp_path_factory.mktemp("typing") / "mistakes.py"
    head = ["import tcdyn", "from tcdyn.payloads import GenericWorkerPayload", "",
            'q = tcdyn.Queue(rootUrl="https://tc.example.com")',
            f'q.createTask("t", {TASK}}})  # right', ""]
    lines = head + list(MISTAKES)
    script.write_text("\n".join(lines) + "\n")
    return script, {len(head) + n + 1: what for n, what in enumerate(MISTAKES.values())}


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_every_mistake_is_flagged_and_nothing_else(checker: str, mistakes) -> None:
    script, expected = mistakes
    run = mypy("--strict", str(script)) if checker == "mypy" else pyright(str(script))
    found = flagged(run.stdout, script)
    assert "is not exported" not in run.stdout, run.stdout  # public names, from public modules
    missed = {line: what for line, what in expected.items() if line not in found}
    assert missed == {}, f"{checker} did not flag: {missed}\n{run.stdout}"
    assert found == set(expected), run.stdout  # the right call (line 5) passes


@pytest.fixture
def bad_example(tmp_path: Path) -> Path:
    """examples/create_task.py's payload with the two mistakes of issue 25 (each in its own
    payload: pyright reports one problem per dict)."""
    text = (ROOT / "examples" / "create_task.py").read_text()
    assert '"maxRunTime": 600,' in text and '"command": [["/bin/sh"' in text
    script = tmp_path / "create_task_mistakes.py"
    script.write_text(text + textwrap.dedent("""

        misspelled: GenericWorkerPayload = {"command": [["true"]], "maxRunTme": 600}
        command_as_a_string: GenericWorkerPayload = {"command": "echo hi", "maxRunTime": 600}
        """))
    return script


def test_mypy_flags_the_example_with_mistakes(bad_example: Path) -> None:
    out = mypy("--strict", str(bad_example)).stdout
    assert 'Extra key "maxRunTme" for TypedDict' in out, out
    assert 'Missing key "maxRunTime" for TypedDict' in out, out
    assert ('Incompatible types (expression has type "str", TypedDict item "command" has '
            'type "list[list[str]]")') in out, out
    assert len(flagged(out, bad_example)) == 2, out  # the example itself is accepted


def test_pyright_flags_the_example_with_mistakes(bad_example: Path) -> None:
    out = pyright(str(bad_example)).stdout
    assert '"maxRunTme" is an undefined item in type "GenericWorkerPayload"' in out, out
    assert '"Literal[\'echo hi\']" is not assignable to "list[list[str]]"' in out, out
    assert len(flagged(out, bad_example)) == 2, out


def test_the_example_and_the_sample_are_checked_by_both() -> None:
    """test_typing's clean runs cover them: they are in both checkers' configured files."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    for name in ("examples/create_task.py", "tests/typing/sample_user.py"):
        assert name in config["mypy"]["files"] and name in config["pyright"]["include"]


def test_types_revealed(tmp_path: Path) -> None:
    """``q.task(tid)["deadline"]`` is a ``str``; a task group's items are typed; the
    status of createTask is a Literal of the queue's states."""
    script = tmp_path / "reveal.py"
    script.write_text(textwrap.dedent("""\
        import tcdyn
        import tcdyn.aio
        q = tcdyn.Queue()
        reveal_type(q.task("t")["deadline"])
        reveal_type(next(q.listTaskGroup.items("g"))["status"]["runs"][0]["reasonCreated"])
        reveal_type(tcdyn.aio.Queue().task("t"))
        """))
    out = mypy("--strict", str(script)).stdout
    assert 'reveal.py:4: note: Revealed type is "str"' in out, out
    assert ("Literal['scheduled'] | Literal['retry'] | Literal['task-retry'] | "
            "Literal['rerun'] | Literal['exception']") in out, out
    assert ('Revealed type is "typing.Coroutine[Any, Any, TypedDict('
            'tcdyn._services.types.QueueTask, {\'created\': str, \'deadline\': str, ') in out, out
    out = pyright(str(script)).stdout
    assert 'Type of "q.task("t")["deadline"]" is "str"' in out, out


def test_stubs_of_a_deployment_by_root_url_type_its_own_schemas(tmp_path: Path,
                                                                deployment_dir: Path) -> None:
    """``tcdyn stubs --root-url``: a deployment whose queue has another priority and whose
    generic-worker payload has another feature gets stubs that accept them, under both
    checkers, where the bundled stubs flag them."""
    import json
    import shutil

    from tcdyn import stubgen
    from tcdyn.testing.server import LocalDeployment

    refs = tmp_path / "deployment"
    shutil.copytree(deployment_dir, refs)
    path = refs / "schemas" / "queue" / "v1" / "create-task-request.json"
    schema = json.loads(path.read_text())
    schema["properties"]["priority"] = {"enum": ["urgent", "lowest"], "type": "string"}
    path.write_text(json.dumps(schema))
    path = refs / "schemas" / "generic-worker" / "multiuser_posix.json"
    schema = json.loads(path.read_text())
    schema["oneOf"][0]["properties"]["features"]["properties"]["tcdynFeature"] = {
        "type": "boolean"}
    path.write_text(json.dumps(schema))
    out = tmp_path / "typings" / "mytc"
    with LocalDeployment(refs) as dep:
        assert stubgen.main(dep.root_url, str(out)) == 0
    assert '"urgent"' in (out / "types.pyi").read_text()
    script = tmp_path / "deployment_user.py"
    script.write_text(textwrap.dedent(f"""\
        from typing import TYPE_CHECKING

        import tcdyn

        if TYPE_CHECKING:
            import mytc
            from mytc.payloads import GenericWorkerPayload

        def make(q: "mytc.Queue") -> None:
            payload: "GenericWorkerPayload" = {{"command": [["true"]], "maxRunTime": 1,
                                              "features": {{"tcdynFeature": True}}}}
            q.createTask("t", {TASK}, "priority": "urgent"}},
                         workerImplementation="docker-worker")
            print(payload)

        def bundled(q: tcdyn.Queue) -> None:
            q.createTask("t", {TASK}, "priority": "urgent"}})
        """))
    env_dir = str(tmp_path / "typings")
    run = mypy("--strict", str(script), env={"MYPYPATH": env_dir})
    assert flagged(run.stdout, script) == {17}, run.stdout  # only the bundled call
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"stubPath": env_dir, "typeCheckingMode": "standard",
                                  "include": [script.name]}))
    run = pyright("-p", str(config))
    assert flagged(run.stdout, script) == {17}, run.stdout
