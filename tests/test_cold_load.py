"""Issue 11 item 6: a cold ``tcdyn.load(rootUrl)`` writes the files of ``references.json`` as
the deployment sent them (no re-encoding), and the faster mirror writer keeps its guarantees:
every path inside the mirror, no link followed, a clash of file and folder refused."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import tcdyn
from tcdyn.errors import ReferenceLoadError
from tcdyn.references import bundled_dir, remote, tree


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(path))
    return path


def bundle_of(root: Path) -> list[dict]:
    return [{"filename": p.relative_to(root).as_posix(), "content": json.loads(p.read_bytes())}
            for top in ("references", "schemas") for p in sorted((root / top).rglob("*.json"))]


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback server whose ``/references/references.json`` is fixed bytes (indented,
    with non-ASCII text and keys in an unusual order), as a deployment might serve it."""
    items = [{"content": item["content"], "filename": item["filename"], "note": "é"}
             for item in bundle_of(bundled_dir())]
    queue = next(i for i in items if i["filename"] == "references/queue/v1/api.json")
    queue["content"] = {**queue["content"], "title": "Café ☕ \u2028"}
    body = json.dumps(items, indent=3, ensure_ascii=False).encode()
    files = {"/references/references.json": body}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = files.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()


def test_files_of_references_json_are_written_as_received(served):
    root_url, files = served
    body = files["/references/references.json"]
    deployment = tcdyn.load(root_url, refresh=True)
    mirror_dir = deployment.references.references_dir.parent
    items = json.loads(body)
    for item in items:
        data = (mirror_dir / item["filename"]).read_bytes()
        assert data in body  # the very bytes sent: not re-indented, not re-escaped
        assert json.loads(data) == item["content"]
    written = {p.relative_to(mirror_dir).as_posix() for p in mirror_dir.rglob("*.json")}
    assert written == {item["filename"] for item in items} | {tree.MIRROR_FILE}
    assert deployment.Queue.__name__ == "Queue"
    assert deployment.references.model("Queue").title.startswith("Café ☕")


def test_an_unchanged_refresh_keeps_the_mirror(served):
    root_url, _ = served
    first = tcdyn.load(root_url, refresh=True).references.references_dir
    again = tcdyn.load(root_url, refresh=True).references.references_dir
    assert first == again


PLAIN = [
    b"[]",
    b" [ ] \n",
    b"[{}]",
    b'[{"filename":"references/a.json","content":{"x":[1,2.5e3,null,true]}}]',
    b'[ {"content" : "\\ud800\\u00e9", "filename": "b" } , {"filename":"c","content":null}]\n',
    '[{"filename": "x", "content": {"a": "é"}, "filename": "y"}]'.encode(),
    '[{"filename": "x", "content": {"a": "é"}}]'.encode("utf-16"),
]


@pytest.mark.parametrize("data", PLAIN)
def test_the_bundle_scanner_reads_what_json_reads(data):
    items = remote._raw_items(data)
    assert items is not None
    decoded = [{k: json.loads(v) if k == "content" else v for k, v in item.items()}
               for item in items]
    assert decoded == json.loads(data)


NOT_PLAIN = [b"", b"{}", b"[1]", b'["x"]', b"[", b"[,]", b"[{},]", b"[{} {}]",
             b'[{"a":1,}]', b'[{"a":1 "b":2}]', b'[{"a" 1}]', b"[{1:2}]", b"[] x",
             b'[{"a":}]', b'[{"content":[1,]}]', b'[{"a":1}', b'[{"a":1},', b"[" * 100_000,
             b"\xff\xfe\xfd"]


@pytest.mark.parametrize("data", NOT_PLAIN, ids=lambda d: repr(d[:20]))
def test_anything_else_is_left_to_json_to_report(data):
    assert remote._raw_items(data) is None


def test_the_writer_refuses_a_link_planted_in_the_mirror(tmp_path):
    root = tree.make_dir(tmp_path, ".tmp-")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "references")
    with pytest.raises(ReferenceLoadError, match="not a directory"):
        tree.write_tree(root, {"references/queue/v1/api.json": b"{}"}, "https://tc.example")
    assert list(outside.iterdir()) == []


def test_the_writer_refuses_a_file_where_a_folder_goes(tmp_path):
    root = tree.make_dir(tmp_path, ".tmp-")
    files = {"references/a.json": b"{}", "references/a.json/b.json": b"{}"}
    with pytest.raises(ReferenceLoadError, match="not a directory"):
        tree.write_tree(root, files, "https://tc.example")


def test_the_writer_refuses_an_unsafe_name(tmp_path):
    root = tree.make_dir(tmp_path, ".tmp-")
    with pytest.raises(ReferenceLoadError, match="unsafe"):
        tree.write_tree(root, {"references/../../x.json": b"{}"}, "https://tc.example")
    assert not (tmp_path / "x.json").exists()


def test_the_writer_records_the_digest_it_is_given_or_computes_it(tmp_path):
    files = {"references/manifest.json": b'{"references":[]}', "schemas/a/b.json": b"{}"}
    for given in (None, tree.content_digest(files)):
        root = tree.make_dir(tmp_path, ".tmp-")
        tree.write_tree(root, files, "https://tc.example", given)
        meta = json.loads((root / tree.MIRROR_FILE).read_bytes())
        assert meta["sha256"] == tree.content_digest(files)
        assert (root / "schemas/a/b.json").read_bytes() == b"{}"
        assert [p.name for p in root.rglob(".tmp-*")] == []
