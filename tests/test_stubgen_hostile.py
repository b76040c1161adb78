"""``tcdyn stubs`` on hostile references (issue 18 item 15): every text a deployment supplies
is escaped into the stubs, the result is parsed before anything is replaced, and files are
replaced atomically (a failure leaves the earlier stubs whole)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tcdyn import stubgen

TITLES = {
    "task": 'Ends in a quote "',
    "status": "Holds a NUL \x00 here",
    "ping": "A lone surrogate \udc80 here",
    "cancelTask": "ESC \x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07 and RLO \u202e and C1 \x9b",
    "listTaskGroup": 'Triple """ quotes and a backslash \\ at the end \\',
}


@pytest.fixture
def hostile(tmp_path: Path, deployment_dir: Path) -> Path:
    refs = tmp_path / "hostile"
    shutil.copytree(deployment_dir, refs)
    path = refs / "references" / "queue" / "v1" / "api.json"
    api = json.loads(path.read_text())
    api["title"] = 'Queue "quoted" \x1b[2K \udc80'
    for entry in api["entries"]:
        if entry["name"] in TITLES:
            entry["title"] = TITLES[entry["name"]]
    path.write_text(json.dumps(api))  # ensure_ascii: the surrogate as \udc80, valid JSON
    events = refs / "references" / "queue" / "v1" / "exchanges.json"
    ex = json.loads(events.read_text())
    ex["entries"][0]["title"] = 'Exchange " \x00 \udc80 \x1b'
    events.write_text(json.dumps(ex))
    return refs


def _stubs(source: Path, out: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "TCDYN_CONFIG": str(out.parent / "none.toml")}
    return subprocess.run([sys.executable, "-m", "tcdyn", "stubs", str(source), "-o", str(out)],
                          env=env, capture_output=True, timeout=120)


def test_hostile_titles_give_stubs_that_parse_and_say_them(hostile, tmp_path):
    out = tmp_path / "typings" / "mytc"
    out.mkdir(parents=True)
    (out / "__init__.pyi").write_text("# the previous stubs\n")
    run = _stubs(hostile, out)
    assert run.returncode == 0, run.stderr
    for name in ("__init__.pyi", "aio.pyi"):
        data = (out / name).read_bytes()
        assert b"\x00" not in data and b"\x1b" not in data and b"\xc2\x9b" not in data
        assert b"\xe2\x80\xae" not in data
        tree = ast.parse(data.decode("utf-8"), name)
        docs = {node.name: ast.get_docstring(node, clean=False)
                for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
        assert docs["Queue"] == 'Queue "quoted" \x1b[2K \udc80'  # the text, escaped in source


def test_nothing_is_replaced_unless_every_file_parses(tmp_path):
    out = tmp_path / "stubs"
    out.mkdir()
    (out / "__init__.pyi").write_text("previous = 1\n")
    (out / "aio.pyi").write_text("previous = 2\n")
    with pytest.raises(stubgen.StubError, match=r"aio\.pyi"):
        stubgen.write({"__init__.pyi": "fine = 1\n", "aio.pyi": "class (:\n"}, out)
    assert (out / "__init__.pyi").read_text() == "previous = 1\n"
    assert (out / "aio.pyi").read_text() == "previous = 2\n"
    assert sorted(p.name for p in out.iterdir()) == ["__init__.pyi", "aio.pyi"]
    with pytest.raises(stubgen.StubError):
        stubgen.write({"__init__.pyi": "x = '\udc80'\n"}, out)  # cannot be written as UTF-8
    assert (out / "__init__.pyi").read_text() == "previous = 1\n"
