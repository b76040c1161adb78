"""Issue 8 (references part): hostile deployments served over loopback must not write outside
the mirror (1), `references pull` must never destroy a directory (2), bodies are capped (4),
`load(timeout=)` is a deadline (5), and the disk cache survives concurrent refreshes and
ignores entries it cannot trust (6)."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import tcdyn
from tcdyn.cli import main as cli
from tcdyn.errors import ReferenceLoadError
from tcdyn.references import ReferenceSet, cache_path, pull
from tcdyn.references import cache as tc_cache
from tcdyn.testing.server import LocalDeployment

API = "/schemas/common/api-reference-v0.json#"
EXCHANGES = "/schemas/common/exchanges-reference-v0.json#"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    # deep enough that ../../.. from the cache still lands inside tmp_path
    path = tmp_path / "home" / "user" / "cache"
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(path))
    return path


# -- a deployment whose every byte the test controls ---------------------------------------------

Raw = Callable[[BaseHTTPRequestHandler], None]


class Hostile:
    """A loopback HTTP server: ``files`` (path -> JSON-able or bytes) answer 200, ``raw``
    handlers write whatever they like, anything else answers ``default`` (an attacker's server
    says yes to every path, ``..`` included). ``references.json`` is absent unless given."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}
        self.raw: dict[str, Raw] = {}
        self.default: bytes | None = b'{"type": "object", "pwned": true}'
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                if self.path in owner.raw:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        owner.raw[self.path](self)
                    return
                body = owner.files.get(self.path)
                if body is None and self.path != "/references/references.json":
                    body = owner.default
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def root_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, refs: dict[str, dict]) -> None:
        """Serve ``refs`` (``service/v1/api.json`` -> reference) file by file."""
        self.files["/references/manifest.json"] = {
            "$schema": "/schemas/common/manifest-v3.json#",
            "references": [f"/references/{name}" for name in refs]}
        for name, ref in refs.items():
            self.files[f"/references/{name}"] = ref

    def __enter__(self) -> Hostile:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def api_ref(service: str, *, schema: str = API, **entry: Any) -> dict:
    return {"$schema": schema, "serviceName": service, "apiVersion": "v1", "title": service,
            "description": "", "entries": [{"type": "function", "name": "ping",
                                             "method": "get", "route": "/ping", "args": [],
                                             "query": [], "title": "", "description": "",
                                             **entry}]}


def exchanges_ref(service: str, schema: str) -> dict:
    return {"$schema": EXCHANGES, "serviceName": service, "apiVersion": "v1", "title": service,
            "description": "", "exchangePrefix": f"exchange/{service}/v1/",
            "entries": [{"type": "topic-exchange", "name": "done", "exchange": "done",
                         "title": "", "description": "", "schema": schema,
                         "routingKey": [{"name": "routingKeyKind", "constant": "primary",
                                         "required": True, "multipleWords": False}]}]}


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# -- 1: nothing is written outside the mirror -------------------------------------------------

ESCAPE = "../../../../../victim"
HOSTILE = {
    # ($schema, input/output, exchange schema, serviceName): the field each must be refused on
    "dollar/v1/api.json": (api_ref("dollar", schema=f"http://x/schemas/{ESCAPE}/"
                                   "api-reference-v0.json#"), "$schema"),
    "inputs/v1/api.json": (api_ref("inputs", input=f"{ESCAPE}/config.json#"),
                           "entries[0].input"),
    "outputs/v1/api.json": (api_ref("outputs", output=f"v1/{ESCAPE}/out.json"),
                            "entries[0].output"),
    "absolute/v1/api.json": (api_ref("absolute", output=f"http://x/schemas/{ESCAPE}/abs.json"),
                             "entries[0].output"),
    "events/v1/exchanges.json": (exchanges_ref("events", f"{ESCAPE}/message.json#"),
                                 "entries[0].schema"),
    "named/v1/api.json": (api_ref(f"{ESCAPE}/svc", input="v1/x.json"), "serviceName"),
}
CLASSES = {"dollar/v1/api.json": "Dollar", "inputs/v1/api.json": "Inputs",
           "outputs/v1/api.json": "Outputs", "absolute/v1/api.json": "Absolute",
           "events/v1/exchanges.json": "EventsEvents", "named/v1/api.json": "Named"}


def serve_hostile(server: Hostile) -> None:
    refs = {name: ref for name, (ref, _) in HOSTILE.items()}
    refs["good/v1/api.json"] = api_ref("good", input="v1/in.json#", output="v1/out.json#")
    server.serve(refs)
    server.files["/schemas/good/v1/in.json"] = {"type": "object", "title": "in"}
    server.files["/schemas/good/v1/out.json"] = {"type": "object", "title": "out"}


def check_refused(refs: ReferenceSet) -> None:
    for name, (_, field) in HOSTILE.items():
        with pytest.raises(ReferenceLoadError) as info:
            refs.model(CLASSES[name])
        assert f"{name}: {field}: " in str(info.value), str(info.value)
    assert refs.model("Good").serviceName == "good"
    assert refs.schema("/schemas/good/v1/in.json")["title"] == "in"


def test_pull_writes_nothing_outside_the_mirror(tmp_path):
    target = tmp_path / "a" / "b" / "mirror"
    with Hostile() as server:
        serve_hostile(server)
        pull(server.root_url, target)
    outside = {p for p in files_under(tmp_path) if target not in p.parents}
    assert outside == set(), outside
    assert not any("victim" in str(p) for p in files_under(target))
    assert not any("victim" in r for r in server.requests)  # refused before being fetched
    check_refused(ReferenceSet.from_directory(target))


def test_load_root_url_writes_nothing_outside_its_cache_entry(tmp_path, cache, caplog):
    with Hostile() as server:
        serve_hostile(server)
        tc = tcdyn.load(server.root_url)
        entry = cache_path(server.root_url)
        outside = {p for p in files_under(tmp_path) if entry not in p.parents}
        assert outside == set(), outside
        check_refused(tc.references)
        assert tc.Good.serviceName == "good"
        # a hostile schema name met at validation time is refused, not fetched
        with pytest.raises(ReferenceLoadError, match="unsafe or unexpected file name"):
            tc.references.schema(f"/schemas/good/{ESCAPE}/later.json")
    assert "not mirrored" in caplog.text and "entries[0].input" in caplog.text
    assert not any("victim" in str(p) for p in files_under(tmp_path))


def test_hostile_file_names_in_references_json_are_refused(tmp_path):
    with Hostile() as server:
        server.files["/references/references.json"] = [
            {"filename": "references/manifest.json", "content": {"references": []}},
            {"filename": "schemas/q/../../../../x.json", "content": {}}]
        with pytest.raises(ReferenceLoadError, match=r"references\.json: \[1\]\.filename"):
            pull(server.root_url, tmp_path / "m")
    assert files_under(tmp_path) == set()


# -- 2: pull never destroys a directory -------------------------------------------------------

def test_pull_refuses_a_directory_that_is_not_a_mirror(deployment_dir, tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("precious")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("precious too")
    with LocalDeployment(deployment_dir) as dep:
        for target in (project, a_file):
            with pytest.raises(ReferenceLoadError, match="refusing to replace"):
                pull(dep.root_url, target)
            assert cli(["references", "pull", dep.root_url, str(target)]) == 1
    assert (project / "src" / "main.py").read_text() == "precious"
    assert a_file.read_text() == "precious too"
    assert sorted(p.name for p in project.iterdir()) == ["src"]


def test_pull_into_the_current_directory(deployment_dir, tmp_path, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    inode = here.stat().st_ino
    with LocalDeployment(deployment_dir) as dep:
        assert cli(["references", "pull", dep.root_url, "."]) == 0
        (here / "my-notes.txt").write_text("kept")  # a mirror may hold the user's own files
        assert cli(["references", "pull", dep.root_url, "."]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert here.stat().st_ino == inode  # updated in place: a shell in it still sees it
    assert sorted(p.name for p in here.iterdir()) == ["MIRROR.json", "my-notes.txt",
                                                      "references", "schemas"]
    assert tcdyn.load(".").Queue.serviceName == "queue"


def test_pull_folder_mode_follows_the_umask(deployment_dir, tmp_path):
    old = os.umask(0o022)
    try:
        with LocalDeployment(deployment_dir) as dep:
            pull(dep.root_url, tmp_path / "mirror")
    finally:
        os.umask(old)
    mirror = tmp_path / "mirror"
    assert stat.S_IMODE(mirror.stat().st_mode) == 0o755
    assert stat.S_IMODE((mirror / "references" / "queue").stat().st_mode) == 0o755
    assert stat.S_IMODE((mirror / "references" / "manifest.json").stat().st_mode) == 0o644


def test_os_errors_are_one_line_without_traceback(deployment_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with LocalDeployment(deployment_dir) as dep:
        run = subprocess.run([sys.executable, "-m", "tcdyn.cli", "references", "pull",
                              dep.root_url, str(blocker / "mirror")],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcdyn: ") and str(blocker) in lines[0]


# -- 4: size caps -------------------------------------------------------------------------------

@pytest.fixture
def small_caps(monkeypatch):
    monkeypatch.setenv("TCDYN_REFERENCE_FILE_LIMIT", str(1_000_000))
    monkeypatch.setenv("TCDYN_REFERENCE_TOTAL_LIMIT", str(2_500_000))


def _endless(handler: BaseHTTPRequestHandler) -> None:
    """A body without a length that goes on (up to 64 MB)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    handler.wfile.write(b'{"description": "')
    for _ in range(1024):
        handler.wfile.write(b"x" * 65536)


def test_a_huge_reference_is_cut_off(small_caps, tmp_path):
    with Hostile() as server:
        server.serve({"good/v1/api.json": api_ref("good")})
        server.raw["/references/good/v1/api.json"] = _endless
        started = time.monotonic()
        with pytest.raises(ReferenceLoadError,
                           match=r"good/v1/api\.json: larger than the 1000000 byte limit for "
                                 r"one file \(\$TCDYN_REFERENCE_FILE_LIMIT\)"):
            pull(server.root_url, tmp_path / "m")
        assert time.monotonic() - started < 10
    assert not (tmp_path / "m").exists()


def test_a_gzip_bomb_is_not_inflated_past_the_cap(small_caps, tmp_path):
    bomb = gzip.compress(b'{"description": "' + b" " * 64_000_000 + b'"}', 9)
    assert len(bomb) < 100_000

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(bomb)))
        handler.end_headers()
        handler.wfile.write(bomb)

    with Hostile() as server:
        server.serve({"good/v1/api.json": api_ref("good")})
        server.raw["/references/good/v1/api.json"] = send
        tracemalloc.start()
        try:
            with pytest.raises(ReferenceLoadError, match="larger than the 1000000 byte limit"):
                pull(server.root_url, tmp_path / "m")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16_000_000, peak


def test_the_total_cap_holds_for_many_files_and_for_references_json(small_caps, tmp_path):
    big = api_ref("good")
    big["description"] = "y" * 900_000
    with Hostile() as server:
        server.serve({f"s{i}/v1/api.json": dict(big, serviceName=f"s{i}") for i in range(4)})
        with pytest.raises(ReferenceLoadError, match=r"exceed the 2500000 byte limit for one "
                           r"deployment \(\$TCDYN_REFERENCE_TOTAL_LIMIT\)"):
            tcdyn.load(server.root_url)
        server.raw["/references/references.json"] = _endless
        with pytest.raises(ReferenceLoadError, match=r"references\.json: larger than the "
                                                     r"2500000 byte limit"):
            pull(server.root_url, tmp_path / "m")


def test_files_on_disk_are_read_with_the_cap(small_caps, tmp_path):
    refs = tmp_path / "refs"
    (refs / "good" / "v1").mkdir(parents=True)
    (refs / "fifo" / "v1").mkdir(parents=True)
    (refs / "manifest.json").write_text(json.dumps({"references": [
        "/references/good/v1/api.json", "/references/fifo/v1/api.json"]}))
    big = api_ref("good")
    big["description"] = "z" * 1_200_000
    (refs / "good" / "v1" / "api.json").write_text(json.dumps(big))
    os.mkfifo(refs / "fifo" / "v1" / "api.json")  # would block a plain read forever
    tc = tcdyn.load(refs)
    with pytest.raises(ReferenceLoadError, match=r"good/v1/api\.json: larger than the 1000000"):
        tc.Good  # noqa: B018
    with pytest.raises(ReferenceLoadError, match=r"fifo/v1/api\.json: not a regular file"):
        tc.Fifo  # noqa: B018


# -- 5: load(timeout=) is a deadline ----------------------------------------------------------

def _drip_headers(handler: BaseHTTPRequestHandler) -> None:
    """Status line and headers, one byte every 0.1 s (each read gets data: no read timeout)."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 300:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.1)


def _drip_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "400")
    handler.end_headers()
    for _ in range(400):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.1)


@pytest.fixture
def no_proxy(monkeypatch):
    """Loopback directly (a proxy from the environment would bound reads, not the total)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize("drip", [_drip_headers, _drip_body], ids=["headers", "body"])
def test_a_slow_drip_server_cannot_hold_load_past_its_timeout(drip, no_proxy):
    with Hostile() as server:
        server.raw["/references/references.json"] = drip
        started = time.monotonic()
        with pytest.raises(ReferenceLoadError, match=r"timed out: .*timeout=1\.5 s"):
            tcdyn.load(server.root_url, timeout=1.5)
        assert time.monotonic() - started < 2.5


def test_a_slow_refresh_falls_back_to_the_cache(caplog, no_proxy):
    with Hostile() as server:
        server.serve({"good/v1/api.json": api_ref("good")})
        assert tcdyn.load(server.root_url).references.origin == "fetched"
        server.raw["/references/references.json"] = _drip_body
        started = time.monotonic()
        tc = tcdyn.load(server.root_url, refresh=True, timeout=1)
        assert time.monotonic() - started < 2
    assert tc.references.origin == "cache" and tc.Good.serviceName == "good"
    assert "using cached references" in caplog.text and "timed out" in caplog.text


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True])
def test_a_bad_timeout_is_refused_before_any_request(timeout):
    with Hostile() as server:
        with pytest.raises(ValueError, match="timeout must be a positive number"):
            tcdyn.load(server.root_url, timeout=timeout)
        assert server.requests == []


# -- 6: the disk cache ------------------------------------------------------------------------

WORKER = textwrap.dedent("""
    import json, os, sys, time, tcdyn
    url, rounds, refresh, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
    failures, i, deadline = [], 0, time.monotonic() + 60
    # refreshers fetch a new mirror each round; readers read the cache until they are done
    while i < rounds if refresh else not (os.path.exists(stop) or time.monotonic() > deadline):
        i += 1
        try:
            tc = tcdyn.load(url, max_age=0 if refresh else 3600)
            assert tc.Good.serviceName == "good"
            for j in range(0 if refresh else 60):
                assert tc.references.schema(f"/schemas/good/v1/s{j}.json")["type"] == "object"
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"rounds": i, "failures": failures}))
""")


def test_concurrent_refreshes_never_fail_nor_expose_half_a_mirror(tmp_path, cache):
    counter = iter(range(10**6))

    def changing(handler: BaseHTTPRequestHandler) -> None:  # a new mirror every time
        ref = api_ref("good")
        ref["description"] = f"version {next(counter)}"
        bundle = [{"filename": "references/manifest.json",
                   "content": {"references": ["/references/good/v1/api.json"]}},
                  {"filename": "references/good/v1/api.json", "content": ref}] + [
                  {"filename": f"schemas/good/v1/s{i}.json", "content": {"type": "object"}}
                  for i in range(60)]
        data = json.dumps(bundle).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    stop = tmp_path / "stop"
    with Hostile() as server:
        server.raw["/references/references.json"] = changing
        assert tcdyn.load(server.root_url).Good.serviceName == "good"
        env = dict(os.environ, TCDYN_CACHE_DIR=str(cache))

        def start(refresh: bool) -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-c", WORKER, server.root_url, "20",
                                     "1" if refresh else "0", str(stop)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        refreshers = [start(True) for _ in range(4)]
        readers = [start(False) for _ in range(4)]
        results = [p.communicate(timeout=120) for p in refreshers]
        stop.touch()
        results += [p.communicate(timeout=120) for p in readers]
    reports = [json.loads(out) if out else {"rounds": 0, "failures": [err[-500:]]}
               for out, err in results]
    assert [f for r in reports for f in r["failures"]] == []
    assert all(r["rounds"] >= 3 for r in reports)  # the readers overlapped the refreshes
    version = tc_cache.current(cache_path(server.root_url))
    assert version is not None and (version / "references" / "manifest.json").is_file()
    assert len(list((version / "schemas" / "good" / "v1").iterdir())) == 60


def _plant(entry: Path, description: str) -> None:
    """A cache entry in the layout of tcdyn before versioned folders (fresh, complete)."""
    ref = api_ref("good")
    ref["description"] = description
    (entry / "references" / "good" / "v1").mkdir(parents=True)
    (entry / "references" / "manifest.json").write_text(json.dumps(
        {"references": ["/references/good/v1/api.json"]}))
    (entry / "references" / "good" / "v1" / "api.json").write_text(json.dumps(ref))
    (entry / "MIRROR.json").write_text("{}")


@pytest.mark.parametrize("how", ["group-writable", "other-owner", "symlink"])
def test_a_cache_entry_that_cannot_be_trusted_is_ignored(how, tmp_path, caplog, monkeypatch):
    with Hostile() as server:
        server.serve({"good/v1/api.json": api_ref("good")})
        entry = cache_path(server.root_url)
        planted = entry if how != "symlink" else tmp_path / "elsewhere"
        _plant(planted, "planted")
        if how == "group-writable":
            entry.chmod(0o777)
        elif how == "other-owner":
            if os.getuid() == 0:
                os.chown(entry, 65534, 65534)
            else:  # an unprivileged run cannot give a file away: pretend to be someone else
                real = os.getuid()
                monkeypatch.setattr(os, "getuid", lambda: real + 1)
        else:
            entry.parent.mkdir(parents=True, exist_ok=True)
            entry.symlink_to(planted)
        tc = tcdyn.load(server.root_url)
        assert tc.references.origin == "fetched"
        assert tc.references.model("Good").raw["description"] == ""
        assert "ignoring the cached references" in caplog.text
    # and it is not a fallback either
    with pytest.raises(ReferenceLoadError, match="could not be fetched"):
        tcdyn.load(server.root_url, refresh=True)


def test_old_mirrors_and_entries_are_pruned(tmp_path, cache):
    month_ago = time.time() - 31 * 24 * 3600
    other = cache_path("https://old.example.com")
    _plant(other, "old")
    for p in (other / "MIRROR.json", other):
        os.utime(p, (month_ago, month_ago))
    unrelated = cache / "notes"
    unrelated.mkdir(parents=True)
    os.utime(unrelated, (month_ago, month_ago))
    counter = iter(range(100))
    with Hostile() as server:
        def changing(handler: BaseHTTPRequestHandler) -> None:
            ref = api_ref("good")
            ref["description"] = f"version {next(counter)}"
            data = json.dumps(ref).encode()
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        server.serve({"good/v1/api.json": api_ref("good")})
        server.raw["/references/good/v1/api.json"] = changing
        entry = cache_path(server.root_url)
        first = tcdyn.load(server.root_url)
        tcdyn.load(server.root_url, refresh=True)
        versions = sorted(p.name for p in entry.iterdir() if p.name.startswith("v-"))
        assert len(versions) == 2  # the superseded one stays a while for its readers
        old = time.time() - tc_cache.GRACE - 1
        os.utime(entry / "current", (old, old))
        assert tcdyn.load(server.root_url).references.origin == "cache"
        left = sorted(p.name for p in entry.iterdir() if not p.name.startswith("."))
        assert left == ["current", (entry / "current").read_text().strip()]
        # a process still holding a pruned mirror gets its files again on demand
        assert first.Good.serviceName == "good"
    assert not other.exists() and unrelated.is_dir()


def test_an_unchanged_refresh_adds_no_mirror(deployment_dir):
    with LocalDeployment(deployment_dir) as dep:
        tcdyn.load(dep.root_url)
        tcdyn.load(dep.root_url, refresh=True)
        tcdyn.load(dep.root_url, refresh=True)
    entry = cache_path(dep.root_url)
    assert len([p for p in entry.iterdir() if p.name.startswith("v-")]) == 1
