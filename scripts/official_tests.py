"""Fetch the official ``taskcluster`` client's own tests (the ``test/`` folder of its sdist)
into a cache outside the clone, where tests/official/harness.py runs them against tcdyn.

They are fetched like any dependency, never committed: ``pip download`` the sdist of the
version pyproject's ``bench`` extra pins, check it against ``SHA256``, extract ``test/`` alone
(regular files and folders inside it, bounded) into ``$TCDYN_OFFICIAL_CACHE/<version>/test``
(default ``/var/tmp/tcdyn-official``). Idempotent: a complete extraction of that sdist is kept.
scripts/setup.sh runs it; ``python scripts/official_tests.py`` prints the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
#: sha256 of taskcluster-<version>.tar.gz from PyPI. A new pin in pyproject needs its hash here.
SHA256 = {"113.2.0": "eb388c7c67d678a82951884e8f423e79bde2e9abe081f8e7ede0f1d896a2f58c"}
CACHE_VARIABLE = "TCDYN_OFFICIAL_CACHE"
DEFAULT_CACHE = Path("/var/tmp/tcdyn-official")
MARKER = ".sdist-sha256"  # written last: its presence means the extraction is complete
MAX_FILE = 2 * 1024 * 1024
MAX_TOTAL = 8 * 1024 * 1024
MAX_FILES = 200


class FetchError(Exception):
    pass


def version() -> str:
    """The official client's version: the ``taskcluster==`` pin of pyproject's bench extra."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for requirement in extras["bench"]:
        m = re.fullmatch(r"taskcluster==([0-9][0-9.]*)", requirement.replace(" ", ""))
        if m:
            return m.group(1)
    raise FetchError("pyproject.toml's bench extra pins no taskcluster==<version>")


def tests_dir(ver: str | None = None) -> Path:
    """Where the official tests of ``ver`` (default: the pin) are, once fetched."""
    base = Path(os.environ.get(CACHE_VARIABLE) or DEFAULT_CACHE)
    return base / (ver or version()) / "test"


def is_fetched(ver: str | None = None) -> bool:
    ver = ver or version()
    marker = tests_dir(ver) / MARKER
    return marker.is_file() and marker.read_text().strip() == SHA256.get(ver)


def _extract(archive: Path, prefix: str, into: Path) -> int:
    """Write the regular files under ``prefix/test/`` of ``archive`` into ``into``; anything
    else (links, devices, paths leaving the folder, too much) is refused."""
    total = count = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if parts[:2] != (prefix, "test"):
                continue
            rel = parts[2:]
            if not rel:
                continue
            if any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in rel):
                raise FetchError(f"refused path in the sdist: {member.name!r}")
            target = into.joinpath(*rel)
            if not target.resolve().is_relative_to(into.resolve()):
                raise FetchError(f"refused path in the sdist: {member.name!r}")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isreg():
                raise FetchError(f"not a regular file in the sdist's test/: {member.name!r}")
            count += 1
            total += member.size
            if member.size > MAX_FILE or total > MAX_TOTAL or count > MAX_FILES:
                raise FetchError("the sdist's test/ is larger than expected")
            source = tar.extractfile(member)
            assert source is not None
            data = source.read(MAX_FILE + 1)
            if len(data) != member.size:
                raise FetchError(f"{member.name!r} is not the size the sdist says")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return count


def fetch(ver: str | None = None) -> Path:
    """Download, check and extract the official tests of ``ver`` unless already there."""
    ver = ver or version()
    dest = tests_dir(ver)
    if is_fetched(ver):
        return dest
    expected = SHA256.get(ver)
    if expected is None:
        raise FetchError(f"no sha256 for taskcluster {ver} in scripts/official_tests.py SHA256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest.parent) as work_name:
        work = Path(work_name)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"taskcluster=={ver}", "--no-deps",
             "--no-binary", ":all:", "--disable-pip-version-check", "-q", "-d",
             str(work / "dl")], capture_output=True, text=True)
        archives = sorted((work / "dl").glob("*.tar.gz")) if (work / "dl").is_dir() else []
        if done.returncode != 0 or len(archives) != 1:
            raise FetchError(f"pip download taskcluster=={ver} failed (exit {done.returncode})"
                             f":\n{done.stderr[-2000:]}")
        digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
        if digest != expected:
            raise FetchError(f"{archives[0].name}: sha256 {digest}, expected {expected}")
        staged = work / "test"
        staged.mkdir()
        if not _extract(archives[0], f"taskcluster-{ver}", staged):
            raise FetchError(f"{archives[0].name} holds no test/ folder")
        (staged / MARKER).write_text(expected + "\n")
        if dest.exists():  # an incomplete or other extraction
            shutil.rmtree(dest)
        try:
            staged.rename(dest)
        except OSError:  # another fetch finished first
            if not is_fetched(ver):
                raise
    return dest


if __name__ == "__main__":
    try:
        print(fetch())
    except FetchError as e:
        sys.exit(f"official_tests.py: {e}")
