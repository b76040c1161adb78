"""scripts/official_tests.py: the official tests are fetched like a dependency (hash checked,
``test/`` alone extracted, nothing outside its folder, once). pip's download from PyPI (the
public internet) is replaced by one that writes an sdist made here."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import harness
import pytest

fetcher = harness.FETCHER
PREFIX = "taskcluster-9.9.9"


def _sdist(path: Path, members: list[tuple[str, bytes | None, bytes]]) -> str:
    """Write a .tar.gz of (name, data, type) members; the sha256 of the file."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return hashlib.sha256(path.read_bytes()).hexdigest()


GOOD = [(f"{PREFIX}/test/test_a.py", b"def test_a(): pass\n", tarfile.REGTYPE),
        (f"{PREFIX}/test/aio/__init__.py", b"", tarfile.REGTYPE),
        (f"{PREFIX}/pyproject.toml", b"[project]\n", tarfile.REGTYPE),
        (f"{PREFIX}/taskcluster/client.py", b"x = 1\n", tarfile.REGTYPE)]


@pytest.fixture
def pypi(tmp_path, monkeypatch):
    """pip download answers with the sdist at ``pypi.path``; ``pypi.calls`` counts them."""
    class PyPI:
        path = tmp_path / "taskcluster-9.9.9.tar.gz"
        calls = 0

    def run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "taskcluster==9.9.9" in cmd
        PyPI.calls += 1
        into = Path(cmd[cmd.index("-d") + 1])
        into.mkdir(parents=True)
        (into / PyPI.path.name).write_bytes(PyPI.path.read_bytes())
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(fetcher.subprocess, "run", run)
    monkeypatch.setenv(fetcher.CACHE_VARIABLE, str(tmp_path / "cache"))
    return PyPI


def test_only_test_folder_is_extracted_once_and_marked_complete(pypi, monkeypatch, tmp_path):
    monkeypatch.setitem(fetcher.SHA256, "9.9.9", _sdist(pypi.path, GOOD))
    dest = fetcher.fetch("9.9.9")
    assert dest == tmp_path / "cache" / "9.9.9" / "test"
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == [fetcher.MARKER, "aio/__init__.py", "test_a.py"]
    assert fetcher.is_fetched("9.9.9")
    assert fetcher.fetch("9.9.9") == dest and pypi.calls == 1


def test_a_wrong_hash_is_refused_and_nothing_is_left(pypi, monkeypatch, tmp_path):
    _sdist(pypi.path, GOOD)
    monkeypatch.setitem(fetcher.SHA256, "9.9.9", "0" * 64)
    with pytest.raises(fetcher.FetchError, match="sha256"):
        fetcher.fetch("9.9.9")
    assert not (tmp_path / "cache" / "9.9.9" / "test").exists()
    assert not fetcher.is_fetched("9.9.9")


@pytest.mark.parametrize("bad", [
    (f"{PREFIX}/test/../../escape.py", b"x", tarfile.REGTYPE),
    (f"{PREFIX}/test/link.py", None, tarfile.SYMTYPE),
    (f"{PREFIX}/test/fifo", None, tarfile.FIFOTYPE),
    (f"{PREFIX}/test/big.py", b"x" * (fetcher.MAX_FILE + 1), tarfile.REGTYPE),
], ids=["dotdot", "symlink", "fifo", "too-big"])
def test_a_hostile_member_is_refused_and_nothing_is_left(pypi, monkeypatch, tmp_path, bad):
    monkeypatch.setitem(fetcher.SHA256, "9.9.9", _sdist(pypi.path, [*GOOD, bad]))
    with pytest.raises(fetcher.FetchError):
        fetcher.fetch("9.9.9")
    assert not (tmp_path / "cache" / "9.9.9" / "test").exists()
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "cache" / "escape.py").exists()


def test_the_version_is_the_bench_extras_pin_and_has_a_hash():
    assert fetcher.version() == harness.VERSION
    assert f'"taskcluster=={harness.VERSION}"' in (harness.ROOT / "pyproject.toml").read_text()
    assert len(fetcher.SHA256[harness.VERSION]) == 64
