"""`tcdyn artifact get`/`put` end to end (subprocesses: real stdout, stderr, exit codes and
signals) against a LocalDeployment checking Hawk signatures and loopback storage hosts.

Issue 18 items 1 (a compressed bomb stops at the command's ceiling), 5 (SIGTERM cleans up as
SIGINT does), 7 (an interrupted put is said, a second put refused), 9 (the library's hash
rule; stdout told truthfully); issue 20 item 4 (the command downloads through the library:
retries, a directory refused before sending, no ``link``, binary kept off terminals).
"""

from __future__ import annotations

import hashlib
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import SECRET
from interrupt_at import SPREAD, moments, pick, run_at, signals_in_turn
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import InMemoryObjects, Storage
from tcdyn.testing.server import LocalDeployment
from transfer_helpers import Host, MiB, V106Artifacts, bomb, fresh, serve_artifact


@pytest.fixture(scope="module")
def world(deployment_dir) -> Iterator[tuple[LocalDeployment, Storage, Host]]:
    host = Host()
    try:
        with Storage() as storage, LocalDeployment(
                deployment_dir, clients={"tester": ClientRecord(SECRET, ("*",))}) as dep:
            yield dep, storage, host
    finally:
        host.close()


class World:
    def __init__(self, dep: LocalDeployment, storage: Storage, host: Host,
                 objects: InMemoryObjects, env: dict[str, str]) -> None:
        self.dep, self.storage, self.host, self.objects, self.env = (dep, storage, host,
                                                                     objects, env)

    def api_calls(self) -> list[str]:
        return [r.name for r in self.dep.requests]


@pytest.fixture
def w(world, tmp_path) -> World:
    dep, storage, host = world
    objects = fresh(dep, storage, host)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update(TCDYN_CONFIG=str(tmp_path / "no-config.toml"), TASKCLUSTER_ROOT_URL=dep.root_url,
               TASKCLUSTER_CLIENT_ID="tester", TASKCLUSTER_ACCESS_TOKEN=SECRET)
    return World(dep, storage, host, objects, env)


def tcdyn(w: World, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=w.env,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def start(w: World, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "tcdyn", *args], env=w.env,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **kwargs)


def object_artifact(w: World, data: bytes, hashes: dict[str, str] | None = None) -> None:
    """The queue's latest ``public/x`` is an object whose bytes are ``data``; the object
    service records ``hashes`` (default: the right sha256 and sha512)."""
    w.storage.objects["t/0/public/x"] = (data, "application/octet-stream")
    w.objects.records["t/0/public/x"] = {
        "projectId": "p", "uploadId": "u", "expires": "2100-01-01T00:00:00.000Z",
        "finished": True, "hashes": hashes if hashes is not None else {
            "sha256": hashlib.sha256(data).hexdigest(),
            "sha512": hashlib.sha512(data).hexdigest()}}
    answer = {"storageType": "object", "name": "t/0/public/x",
              "credentials": {"clientId": "tester", "accessToken": SECRET}}
    w.dep.handle("queue", "latestArtifact", lambda req: answer)
    w.dep.handle("queue", "artifact", lambda req: answer)


def err(done: Any) -> str:
    return done.stderr.decode()


# -- issue 20, item 4: the command downloads through the library ------------------------------

def test_get_refuses_a_directory_before_sending(w, tmp_path):
    object_artifact(w, b"data")
    done = tcdyn(w, "artifact", "get", "t", "public/x", "-o", str(tmp_path))
    assert done.returncode == 2, err(done)
    assert "is a directory" in err(done) and str(tmp_path) in err(done)
    assert w.api_calls() == [] and w.storage.seen == []
    assert list(tmp_path.iterdir()) == []


def test_get_refuses_a_link_artifact_as_the_library_does(w):
    """The queue resolves links itself; an answer of type ``link`` is not followed."""
    w.host.routes["/x"] = (200, {}, b"from a link")
    answer = {"storageType": "link", "url": f"{w.host.url}/x"}
    w.dep.handle("queue", "latestArtifact", lambda req: answer)
    done = tcdyn(w, "artifact", "get", "t", "public/x")
    assert done.returncode == 1 and done.stdout == b""
    assert "storageType 'link'" in err(done)
    assert w.host.seen == []


def test_get_retries_a_failing_storage_host(w, tmp_path):
    w.storage.objects["k"] = (b"s3 bytes" * 1000, "text/plain")
    serve_artifact(w.dep, w.storage.url("k"), "s3")
    w.storage.fault("fail", status=503)
    target = tmp_path / "out.txt"
    done = tcdyn(w, "artifact", "get", "t", "public/x", "-o", str(target))
    assert done.returncode == 0, err(done)
    assert target.read_bytes() == b"s3 bytes" * 1000
    assert len(w.storage.seen) == 2


def test_get_to_stdout_resumes_after_a_dropped_connection(w):
    """Bytes already on stdout cannot be taken back: a retry skips them (after checking
    they are the same) and writes the rest."""
    data = os.urandom(3 * MiB)
    object_artifact(w, data)
    w.storage.fault("truncate")
    done = tcdyn(w, "artifact", "get", "t", "public/x", "-o", "-")
    assert done.returncode == 0, err(done)
    assert done.stdout == data
    assert len(w.storage.seen) == 2


def test_get_dash_o_dash_and_no_o_write_to_stdout(w):
    object_artifact(w, b"to stdout\n")
    for args in (("-o", "-"), ()):
        done = tcdyn(w, "artifact", "get", "t", "public/x", *args)
        assert (done.returncode, done.stdout) == (0, b"to stdout\n"), err(done)


def read_pty(w: World, *args: str) -> tuple[int, bytes, str]:
    """Run the command with stdout on a pseudo-terminal: (exit code, what the terminal got,
    stderr)."""
    master, slave = pty.openpty()
    proc = start(w, *args, stdout=slave)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    stderr = proc.stderr.read().decode()
    return proc.wait(30), got, stderr


def test_binary_to_a_terminal_is_refused_unless_asked_for(w):
    object_artifact(w, b"\x7fELF\x00\x01binary")
    code, shown, stderr = read_pty(w, "artifact", "get", "t", "public/x")
    assert code == 2 and shown == b"", stderr
    assert "binary" in stderr and "--binary" in stderr and "-o FILE" in stderr
    code, shown, stderr = read_pty(w, "artifact", "get", "t", "public/x", "--binary")
    assert code == 0 and shown == b"\x7fELF\x00\x01binary", stderr


def test_text_to_a_terminal_is_written(w):
    object_artifact(w, "plain text, UTF-8: café".encode())
    code, shown, stderr = read_pty(w, "artifact", "get", "t", "public/x")
    assert code == 0, stderr
    assert shown == "plain text, UTF-8: café".encode()


def test_help_names_the_binary_flag_and_the_ceiling(w):
    done = tcdyn(w, "artifact", "get", "--help")
    text = " ".join(done.stdout.decode().split())
    assert "--binary" in text and "terminal" in text
    assert "--max-size" in text and "default: 16 GiB" in text


# -- issue 18, item 9: the library's hash rule ------------------------------------------------

@pytest.mark.parametrize("hashes", [{}, {"md5": "0" * 32}])
@pytest.mark.parametrize("output", ["-", "file"])
def test_get_refuses_an_object_without_acceptable_hashes(w, tmp_path, hashes, output):
    object_artifact(w, b"unverifiable", hashes)
    target = "-" if output == "-" else str(tmp_path / "out")
    done = tcdyn(w, "artifact", "get", "t", "public/x", "-o", target)
    assert done.returncode == 1, err(done)
    assert "No acceptable hashes" in err(done)
    assert done.stdout == b"" and list(tmp_path.iterdir()) == []
    assert w.storage.seen == []  # refused before downloading


def test_a_hash_mismatch_on_stdout_says_what_was_written(w):
    data = b"object bytes, altered in storage"
    object_artifact(w, data, {"sha256": "0" * 64})
    done = tcdyn(w, "artifact", "get", "t", "public/x")
    assert done.returncode == 1
    assert done.stdout == data
    assert "sha256" in err(done) and "nothing written" not in err(done)
    assert f"the {len(data)} bytes written to stdout are not the artifact" in err(done)


def test_a_hash_mismatch_to_a_file_writes_nothing(w, tmp_path):
    object_artifact(w, b"object bytes", {"sha256": "0" * 64})
    done = tcdyn(w, "artifact", "get", "t", "public/x", "-o", str(tmp_path / "y"))
    assert done.returncode == 1 and "sha256" in err(done) and "nothing written" in err(done)
    assert list(tmp_path.iterdir()) == []


# -- issue 18, item 1: the command's ceiling ------------------------------------------------

def _limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1024 ** 3, 1024 ** 3))


@pytest.mark.parametrize("output", ["file", "-"])
def test_a_gzip_bomb_stops_at_the_commands_ceiling(w, tmp_path, output):
    w.host.routes["/bomb"] = (200, {"Content-Encoding": "gzip, gzip"}, bomb("gzip, gzip"))
    serve_artifact(w.dep, f"{w.host.url}/bomb")
    target = str(tmp_path / "out") if output == "file" else "-"
    proc = start(w, "artifact", "get", "t", "public/bomb", "-o", target, "--max-size", "1MiB",
                 preexec_fn=_limited)
    out, stderr = proc.stdout.read(), proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert usage.ru_maxrss * 1024 < 200 * MiB, usage.ru_maxrss
    assert proc.returncode == 1, stderr
    assert "larger than the --max-size of 1 MiB" in stderr
    assert len(out) <= MiB and list(tmp_path.iterdir()) == []


def test_max_size_is_checked(w):
    for bad in ("lots", "-1", "1.5GiB", "1 KB"):
        done = tcdyn(w, "artifact", "get", "t", "public/x", "--max-size", bad)
        assert done.returncode == 2 and "--max-size" in err(done), (bad, err(done))
    assert w.api_calls() == []


# -- issue 18, item 5: SIGTERM cleans up as SIGINT does -------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_get_leaves_no_partial_file(w, tmp_path, sig):
    w.storage.objects["k"] = (os.urandom(2 * MiB), "application/octet-stream")
    serve_artifact(w.dep, w.storage.url("k"), "s3")
    w.storage.fault("stall", seconds=30)  # half the body, then silence
    out = tmp_path / "out.bin"
    proc = start(w, "artifact", "get", "t", "public/x", "-o", str(out))
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    assert proc.wait(30) == 130
    assert proc.stderr.read().decode() == "tcdyn: interrupted\n"
    assert list(tmp_path.iterdir()) == []


# -- issue 18, item 7: an interrupted put is said; a second put is refused ------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_put_says_the_name_is_used_up(w, tmp_path, sig):
    V106Artifacts(w.dep, w.objects)
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(MiB))
    w.storage.fault("stall", "PUT", seconds=30)  # takes the body, answers late
    put = ("artifact", "put", "T", "0", "public/big.bin", str(path), "--expires", "1 day")
    proc = start(w, *put)
    deadline = time.monotonic() + 60
    while not [s for s in w.storage.seen if s.method == "PUT"]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    assert proc.wait(30) == 130
    stderr = proc.stderr.read().decode()
    assert stderr.startswith("tcdyn: interrupted"), stderr
    assert ("artifact 'public/big.bin' of run 0 of task T was created but not finished"
            in stderr)
    again = tcdyn(w, *put)
    assert again.returncode == 3, err(again)
    assert "already has an unfinished artifact 'public/big.bin'" in err(again)
    assert len(err(again).strip().splitlines()) == 1


@pytest.mark.parametrize("grant", ["all", "run"])
def test_put_of_an_existing_name_exits_3_with_any_credentials(w, tmp_path, grant):
    """A run's own credentials cannot read the artifact (403 on ``queue.artifact``): the
    check still finds it, before anything is created."""
    queue = V106Artifacts(w.dep, w.objects)
    path = tmp_path / "f.txt"
    path.write_text("hello\n")
    put = ("artifact", "put", "T", "0", "public/f.txt", str(path), "--expires", "1 day")
    assert tcdyn(w, *put).returncode == 0
    queue.grant = grant
    w.dep.requests.clear()
    again = tcdyn(w, *put)
    assert again.returncode == 3, err(again)
    assert "already has an artifact 'public/f.txt'" in err(again)
    assert "createArtifact" not in w.api_calls()


# -- issue 18, item 5: a signal at any moment stops put and get -----------------------------
# tests/interrupt_at.py calls the command's handler at a chosen moment of a real run (a
# Python function starting in the main thread), as Python does when the signal arrives then:
# moments spread over the run, SIGTERM and SIGINT in turn, and the moments where a
# KeyboardInterrupt used to be lost or to hang the command (all failed before the fix). Each
# run must end at once with exit 130 and one line that tells the truth about what was left.

#: Where a KeyboardInterrupt was lost or hung the command (interrupt_at.pick's names):
#: jsonschema-rs calling tcdyn's retriever (the interrupt made into its error: the command
#: ran to its end, exit 0, as tests/real saw), at the retriever's first line and within;
#: importlib's weakref callback (Python ignores what it raises); a dataclass's
#: __set_name__ (made into RuntimeError, exit 1); httpcore's pool lock given back (raised
#: there, the lock stays taken: the cleanup waited for it forever); the hashing threads'
#: results; the chunks sent.
HAZARDS = ["compile_check.<locals>.kept_retrieve#1",
           "compile_check.<locals>.kept_retrieve#1 then _compile_rs.<locals>.retrieve",
           "_get_module_lock.<locals>.cb#1", "Field.__set_name__#1", "ThreadLock.__exit__#3",
           "Future.result#1", "DirectStorage._sent#1"]
_moments: dict[str, list[str]] = {}


def moments_of(w: World, tmp_path: Path, scenario: str, reset: Any, *args: str
               ) -> list[str]:
    """The moments of ``scenario``, listed once."""
    if scenario not in _moments:
        _moments[scenario] = moments(w.env, tmp_path / "moments.txt", reset, *args)
    return _moments[scenario]


def interrupted_at(w: World, sig: str, moment: str, *args: str
                   ) -> subprocess.CompletedProcess[bytes]:
    start = time.monotonic()
    done = run_at(w.env, sig, moment, *args)
    assert done.returncode == 130, (moment, done.returncode, err(done))
    assert done.stdout == b"", moment
    assert time.monotonic() - start < 30, moment  # at once, not after the transfer
    lines = err(done).splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcdyn: interrupted"), (moment, err(done))
    return done


SPREAD_CHOICES = [("spread", k) for k in range(SPREAD)]
HAZARD_CHOICES = [("at", h) for h in HAZARDS]


@pytest.fixture
def stable(w: World) -> World:
    """The same moments in every run (set and dict orders)."""
    w.env["PYTHONHASHSEED"] = "0"
    return w


@pytest.mark.parametrize(("choice", "sig"), signals_in_turn(
    [*SPREAD_CHOICES, *HAZARD_CHOICES]))
def test_a_signal_at_any_moment_of_put_stops_it(stable, tmp_path, choice, sig):
    w = stable
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * MiB))  # batches hashed on the threads
    put = ("artifact", "put", "T", "0", "public/big.bin", str(path), "--expires", "1 day")
    queues: list[V106Artifacts] = []

    def reset() -> None:
        w.objects = fresh(w.dep, w.storage, w.host)
        queues.append(V106Artifacts(w.dep, w.objects))

    moment = pick(moments_of(w, tmp_path, "put", reset, *put), choice)
    reset()
    line = err(interrupted_at(w, sig, moment, *put)).strip()
    record = queues[-1].records.get("public/big.bin")
    name = "artifact 'public/big.bin' of run 0 of task T"
    if line.startswith(f"tcdyn: interrupted: {name} was created but not finished"):
        assert record is not None and not record["present"], (moment, record)
    elif line.startswith(f"tcdyn: interrupted: {name} may have been created"):
        assert record is None or not record["present"], (moment, record)
    elif line.startswith(f"tcdyn: interrupted: {name} was created and may not be"):
        assert record is not None, (moment, record)
    else:  # nothing said: nothing left half-made
        assert line == "tcdyn: interrupted", (moment, line)
        assert record is None or record["present"], (moment, record)


@pytest.mark.parametrize(("choice", "sig"), signals_in_turn(
    [*SPREAD_CHOICES[::2], ("at", "Future.result#1")]))
def test_a_signal_at_any_moment_of_get_leaves_no_file(stable, tmp_path, choice, sig):
    w = stable
    data = os.urandom(3 * MiB)
    out = tmp_path / "out" / "got.bin"
    out.parent.mkdir()
    get = ("artifact", "get", "t", "public/x", "-o", str(out))

    def reset() -> None:
        out.unlink(missing_ok=True)
        object_artifact(w, data)

    moment = pick(moments_of(w, tmp_path, "get", reset, *get), choice)
    reset()
    interrupted_at(w, sig, moment, *get)
    left = list(out.parent.iterdir())
    assert left in ([], [out]), (moment, left)  # no partial file; done, or nothing
    assert not left or out.read_bytes() == data
