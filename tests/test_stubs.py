"""The committed stubs of the bundled references are what the generator makes today, and
``tcdyn stubs``'s library function and ``main`` write a deployment's stubs."""

from __future__ import annotations

from pathlib import Path

from tcdyn import stubgen
from tcdyn.references import ReferenceSet

SERVICES = Path(stubgen.__file__).parent / "_services"


def test_committed_stubs_are_current() -> None:
    """Regenerate with: python -c "from tcdyn.stubgen import bundled_stubs, write;
    write(bundled_stubs(), 'src/tcdyn/_services')" """
    for name, text in stubgen.bundled_stubs().items():
        committed = (SERVICES / name).read_text(encoding="utf-8")
        assert committed == text, f"src/tcdyn/_services/{name} is stale: regenerate it"


def test_stub_shapes() -> None:
    files = stubgen.bundled_stubs()
    sync, aio = files["__init__.pyi"], files["aio.pyi"]
    assert "    def __call__(self, taskId: str, /) -> Json: ..." in sync
    assert "    def __call__(self, *, taskId: str) -> Json: ..." in sync
    assert "    task: Method[_Queue_task]" in sync
    assert "    async def __call__(self, taskId: str, /) -> Json: ..." in aio
    assert "-> Iterator[Json]: ..." in sync and "-> AsyncIterator[Json]: ..." in aio
    assert "class QueueEvents(BaseEvents):" in sync
    assert "from . import QueueEvents as QueueEvents" in aio


def test_main_writes_a_directory_deployment(tmp_path: Path, capsys) -> None:
    bundled = ReferenceSet.bundled()
    out = tmp_path / "stubs"
    assert stubgen.main(str(bundled.references_dir.parent), str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["__init__.pyi", "aio.pyi"]
    assert "class Queue(Client):" in (out / "__init__.pyi").read_text()
    assert str(out / "__init__.pyi") in capsys.readouterr().out


def test_main_reports_a_bad_source(tmp_path: Path, capsys) -> None:
    assert stubgen.main(str(tmp_path / "missing"), str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert err.startswith("tcdyn stubs: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
