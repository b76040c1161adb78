"""The committed stubs of the bundled references are what the generator makes today (so a
change to references/ without new stubs fails), and ``tcdyn stubs``'s library function and
``main`` write a deployment's stubs, schema types and worker payloads included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tcdyn import stubgen
from tcdyn.references import ReferenceSet

ROOT = Path(__file__).resolve().parents[1]
SERVICES = Path(stubgen.__file__).parent / "_services"
GENERATED = ["__init__.pyi", "aio.pyi", "payloads.py", "types.py"]
REGENERATE = ("python -c \"from tcdyn.stubgen import bundled_stubs, write; "
              "write(bundled_stubs(), 'src/tcdyn/_services')\"")


def stale(files: dict[str, str], tmp: Path) -> list[str]:
    """The committed files of src/tcdyn/_services that differ from ``files`` once written
    (into ``tmp``, as the regeneration command writes them)."""
    written = {p.name: p.read_bytes() for p in stubgen.write(files, tmp)}
    assert sorted(written) == GENERATED
    return [name for name, data in sorted(written.items())
            if (SERVICES / name).read_bytes() != data]


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    """Regenerate with: python -c "from tcdyn.stubgen import bundled_stubs, write;
    write(bundled_stubs(), 'src/tcdyn/_services')" """
    assert stale(stubgen.bundled_stubs(), tmp_path) == [], f"stale: run {REGENERATE}"


def test_a_change_to_the_references_without_new_stubs_is_caught(tmp_path: Path) -> None:
    """What the CI check above guards against: a schema changed in references/ makes
    different stubs (here, a new priority and a new field of createTask's payload)."""
    copy = tmp_path / "references"
    shutil.copytree(ReferenceSet.bundled().references_dir.parent, copy)
    path = copy / "schemas" / "queue" / "v1" / "create-task-request.json"
    schema = json.loads(path.read_text())
    schema["properties"]["tcdynNote"] = {"type": "string", "title": "A note"}
    path.write_text(json.dumps(schema))
    references = ReferenceSet.from_directory(copy)
    references.origin = "bundled"
    files = stubgen.stub_files(references, runtime=True)
    assert stale(files, tmp_path / "out") == ["types.py"]
    assert "    tcdynNote: _typing.NotRequired[str]\n" in files["types.py"]


def test_stub_shapes() -> None:
    files = stubgen.bundled_stubs()
    sync, aio, types = files["__init__.pyi"], files["aio.pyi"], files["types.py"]
    assert "    def __call__(self, taskId: str, /) -> _t.QueueTask: ..." in sync
    assert "    def __call__(self, *, taskId: str) -> _t.QueueTask: ..." in sync
    assert "    task: Method[_Queue_task]" in sync
    assert ("    def __call__(self, taskId: str, payload: _t.QueueCreateTaskRequest, /, *, "
            "workerImplementation: _p.WorkerImplementation | None = None) -> "
            "_t.QueueTaskStatusResponse: ...") in sync
    assert "    async def __call__(self, taskId: str, /) -> _t.QueueTask: ..." in aio
    assert ("-> Iterator[_t.QueueTaskDefinitionAndStatus]: ..." in sync
            and "-> AsyncIterator[_t.QueueTaskDefinitionAndStatus]: ..." in aio)
    assert "-> Iterator[_t.QueueListTaskGroupResponse]: ..." in sync
    assert "class QueueEvents(BaseEvents):" in sync
    assert "from . import QueueEvents as QueueEvents" in aio
    assert "class QueueTask(_typing.TypedDict):\n" in types
    assert "    deadline: str\n" in types.split("class QueueTask(")[1].split("\n\n")[0]
    payloads = files["payloads.py"]
    assert "GenericWorkerPayload: _typing.TypeAlias = " \
           "GenericWorkerMultiuserPosixPayload_GenericWorkerPayload\n" in payloads
    assert "class DockerWorkerPayload(_typing.TypedDict):" in payloads


def test_the_schema_modules_exist_at_run_time() -> None:
    """``tcdyn.types`` and ``tcdyn.payloads`` are real modules: the names annotate at run
    time too, and a TypedDict builds a dict."""
    import tcdyn.payloads
    import tcdyn.types

    assert tcdyn.types.QueueTask.__required_keys__ >= {"deadline", "payload", "metadata"}
    assert "expires" in tcdyn.types.QueueTask.__optional_keys__
    payload = tcdyn.payloads.GenericWorkerPayload(command=[["true"]], maxRunTime=60)
    assert payload == {"command": [["true"]], "maxRunTime": 60}
    assert set(tcdyn.payloads.__all__) >= {"GenericWorkerPayload", "DockerWorkerPayload",
                                           "check", "KINDS", "WorkerImplementation"}


def test_main_writes_a_directory_deployment(tmp_path: Path, capsys) -> None:
    bundled = ReferenceSet.bundled()
    out = tmp_path / "stubs"
    assert stubgen.main(str(bundled.references_dir.parent), str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["__init__.pyi", "aio.pyi",
                                                     "payloads.pyi", "types.pyi"]
    assert "class Queue(Client):" in (out / "__init__.pyi").read_text()
    assert "class QueueCreateTaskRequest(_typing.TypedDict):" in (out / "types.pyi").read_text()
    assert str(out / "__init__.pyi") in capsys.readouterr().out


def test_a_bare_references_folder_gives_untyped_payloads(tmp_path: Path) -> None:
    """References without schemas: the methods take and give plain JSON, as before."""
    refs = ReferenceSet.from_directory(ReferenceSet.bundled().references_dir)
    files = stubgen.stub_files(refs)
    assert "payload: Payload" in files["__init__.pyi"]
    assert "workerImplementation: str | None = None" in files["__init__.pyi"]
    assert "class " not in files["types.pyi"] and "class " not in files["payloads.pyi"]


def test_main_reports_a_bad_source(tmp_path: Path, capsys) -> None:
    assert stubgen.main(str(tmp_path / "missing"), str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert err.startswith("tcdyn stubs: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
