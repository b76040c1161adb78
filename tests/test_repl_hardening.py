"""``tcdyn explore`` against what a deployment may name and say (issue 18 items 16, 19, 24):
Python's and tcdyn's names win over services named ``help``, ``print`` or ``tcdyn`` (which
stay reachable, as the banner says); IPython shows the banner; an error shows the user's
frame, not tcdyn's, with the server's text escaped. Driven through a pseudo-terminal."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

import tcdyn
from tcdyn.repl import namespace
from tcdyn.testing.server import LocalDeployment, error

PROMPT = ">>> "
IPROMPT = r"In \[\d+\]: "
EVIL = "gone \x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x1b[2K \u202eexe.txt"


@pytest.fixture(scope="module")
def clashing(tmp_path_factory: pytest.TempPathFactory, deployment_dir: Path) -> Path:
    """The bundled references plus services named help, print, tcdyn and exception."""
    refs = tmp_path_factory.mktemp("clash") / "refs"
    shutil.copytree(deployment_dir, refs)
    manifest_path = refs / "references" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    api = json.loads((refs / "references" / "purge-cache" / "v1" / "api.json").read_text())
    for name in ("help", "print", "tcdyn", "exception"):
        api["serviceName"] = name
        folder = refs / "references" / name / "v1"
        folder.mkdir(parents=True)
        (folder / "api.json").write_text(json.dumps(api))
        manifest["references"].append(f"/references/{name}/v1/api.json")
    manifest_path.write_text(json.dumps(manifest))
    return refs


def test_builtins_and_tcdyns_names_win(clashing):
    from tcdyn.deployment import load

    names, banner = namespace("http://127.0.0.1:9", None, deployment=load(str(clashing)),
                              credentials=None)
    assert names.get("help", builtins.help) is builtins.help
    assert names.get("print", builtins.print) is builtins.print
    assert names["tcdyn"] is tcdyn
    assert names.get("Exception", Exception) is Exception
    for client in ("help_", "print_", "tcdyn_"):
        assert type(names[client]).__name__ == client[0].upper() + client[1:-1]
        assert client in banner
    assert names["Exception_"].__name__ == "Exception"
    assert "help_" in banner and "help()" not in banner.split("renamed")[1]


def _spawn(root: str, *args: str, shell: str = "python") -> pexpect.spawn:
    env = {**os.environ, "TCDYN_SHELL": shell, "PAGER": "cat", "TERM": "dumb",
           "IPY_TEST_SIMPLE_PROMPT": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "IPYTHONDIR": os.path.join(os.environ.get("TMPDIR", "/tmp"), "tcdyn-ipython-test")}
    env = {k: v for k, v in env.items() if not k.startswith("TASKCLUSTER_")}
    return pexpect.spawn(sys.executable, ["-m", "tcdyn.repl", "--root-url", root, *args],
                         env=env, timeout=60, dimensions=(50, 200))


def _run(child: pexpect.spawn, line: str, prompt: str = PROMPT) -> bytes:
    child.sendline(line)
    child.expect(prompt.encode())
    return bytes(child.before)


def test_clashing_services_in_the_shell(clashing):
    child = _spawn("http://127.0.0.1:9", "--references", str(clashing))
    child.expect_exact(PROMPT.encode())
    banner = bytes(child.before)
    assert b"help_" in banner and b"print_" in banner and b"tcdyn_" in banner
    assert b"Help on" in _run(child, "help(len)")
    assert b"works" in _run(child, "print('works')")
    assert tcdyn.__version__.encode() in _run(child, "tcdyn.__version__")
    assert b"<tcdyn.Help rootUrl=" in _run(child, "help_")
    child.sendline("exit()")
    child.expect(pexpect.EOF)


@pytest.fixture(scope="module")
def failing() -> Iterator[LocalDeployment]:
    with LocalDeployment() as dep:
        dep.handle("queue", "task", lambda req: error(404, "ResourceNotFound",
                                                      f"no such task\n{EVIL}"))
        yield dep


def _check_error(out: bytes) -> None:
    text = out.decode("utf-8", "replace")
    assert "ResourceNotFound" in text and "no such task" in text
    assert "\\x1b]52;c;" in text and b"\x1b]52" not in out and b"\xe2\x80\xae" not in out
    src = os.path.dirname(tcdyn.__file__)
    assert src not in text, text  # no frame of tcdyn's own
    assert "frames inside tcdyn not shown" in text


def test_errors_show_the_users_frame_in_python(failing):
    child = _spawn(failing.root_url)
    child.expect_exact(PROMPT.encode())
    out = _run(child, 'queue.task("abc")')
    _check_error(out)
    assert b'File "<console>", line 1' in out
    assert b"NameError" in _run(child, "nope")  # other errors as Python shows them
    child.sendline("exit()")
    child.expect(pexpect.EOF)


def test_ipython_shows_the_banner_and_the_users_frame(failing):
    pytest.importorskip("IPython")
    child = _spawn(failing.root_url, shell="ipython")
    child.expect(IPROMPT.encode())
    banner = bytes(child.before)
    assert f"rootUrl {failing.root_url}".encode() in banner, banner
    assert b"clients: auth" in banner
    out = _run(child, 'queue.task("abc")', IPROMPT)
    _check_error(out)
    child.sendline("exit")
    child.expect(pexpect.EOF)
