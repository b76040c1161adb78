"""The completion's cached index (``tcdyn.cli.api_index``) against a hostile cache: a file
is used only when it is this user's, private, bounded, of the exact shape and for the
references in use; anything else is rebuilt and replaced, never offered to the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tcdyn.cli import api_index


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder and a count of the index's builds."""
    monkeypatch.setenv("TCDYN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TASKCLUSTER_REFERENCES", raising=False)
    built = []
    real = api_index._from_references

    def counting():
        built.append(1)
        return real()

    monkeypatch.setattr(api_index, "_from_references", counting)
    return tmp_path / "cache" / "completion", built


def names(services):
    return {s.name: {m.name for m in s.methods} for s in services}


def the_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if not p.name.endswith(".tmp")]
    assert len(files) == 1
    return files[0]


def test_made_once_then_read(cache):
    folder, built = cache
    first = names(api_index.services())
    assert "createTask" in first["queue"] and len(built) == 1
    path = the_file(folder)
    assert path.stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o077 == 0
    assert names(api_index.services()) == first and len(built) == 1


def forge(path: Path, change) -> None:
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))
    path.chmod(0o600)


@pytest.mark.parametrize("change", [
    lambda v: v["services"][0]["methods"].append(
        {"name": "x; rm -rf ~", "title": "", "args": [], "query": [], "input": False,
         "paginated": False}),
    lambda v: v["services"][0]["methods"][0].update(name="\x1b]0;pwned\x07"),
    lambda v: v["services"][0]["methods"][0].update(args=["a b"]),
    lambda v: v["services"][0]["methods"][0].update(input="yes"),
    lambda v: v["services"][0].update(extra=1),
    lambda v: v["services"][0].update(title="t" * 5000),
    lambda v: v["services"][0]["methods"][0].update(query=["q"] * 1000),
    lambda v: v.update(key=[]),  # another state of the references
    lambda v: v.update(tcdyn="0.0.0"),
    lambda v: v.update(format=0),
    lambda v: v.update(source="/elsewhere"),
], ids=["injected name", "escape sequence", "spaced argument", "not a flag", "extra key",
        "long title", "too many words", "stale key", "other tcdyn", "other format",
        "other source"])
def test_a_forged_or_stale_index_is_rebuilt(cache, change):
    folder, built = cache
    good = names(api_index.services())
    path = the_file(folder)
    forge(path, change)
    assert names(api_index.services()) == good and len(built) == 2
    assert names(api_index.services()) == good and len(built) == 2  # replaced: read again


@pytest.mark.parametrize("spoil", ["group-writable", "symlink", "oversized", "not json",
                                   "deep", "a folder"])
def test_an_untrusted_or_broken_file_is_not_read(cache, tmp_path, spoil):
    folder, built = cache
    good = names(api_index.services())
    path = the_file(folder)
    if spoil == "group-writable":
        path.chmod(0o620)
    elif spoil == "symlink":
        planted = tmp_path / "planted.json"
        planted.write_text(path.read_text())
        path.unlink()
        path.symlink_to(planted)
    elif spoil == "oversized":
        path.write_text(path.read_text() + " " * api_index.MAX_BYTES)
    elif spoil == "not json":
        path.write_bytes(b"\xff" * 100)
    elif spoil == "deep":
        path.write_text("[" * 100_000)
    else:
        path.unlink()
        path.mkdir()
    assert names(api_index.services()) == good and len(built) == 2
    if spoil != "a folder":
        assert not path.is_symlink() and path.stat().st_mode & 0o777 == 0o600
        assert names(api_index.services()) == good and len(built) == 2


def test_a_folder_others_may_write_is_neither_read_nor_written(cache):
    folder, built = cache
    good = names(api_index.services())
    folder.chmod(0o777)
    try:
        assert names(api_index.services()) == good and len(built) == 2
        assert names(api_index.services()) == good and len(built) == 3
        assert [p.name for p in folder.iterdir()] == [the_file(folder).name]
    finally:
        folder.chmod(0o700)


def test_a_huge_references_folder_is_not_cached(cache, tmp_path, monkeypatch):
    """Past ``MAX_KEY_FILES`` files the key is not taken (the index is made each time)."""
    folder, built = cache
    monkeypatch.setattr(api_index, "MAX_KEY_FILES", 3)
    api_index.services()
    api_index.services()
    assert len(built) == 2 and not folder.exists()


def test_a_reference_that_cannot_be_used_offers_nothing(cache, tmp_path, monkeypatch):
    """A method name the reference check refuses (a backtick) leaves its service out of
    the index; the other services are offered."""
    import shutil

    from tcdyn.references import bundled_dir

    refs = tmp_path / "refs"
    shutil.copytree(bundled_dir() / "references", refs / "references")
    api = refs / "references" / "queue" / "v1" / "api.json"
    api.write_text(api.read_text().replace('"name": "ping"', '"name": "ping`reboot`"'))
    monkeypatch.setenv("TASKCLUSTER_REFERENCES", str(refs))
    monkeypatch.setattr("tcdyn.default._default", None)
    offered = names(api_index.services())
    assert "queue" not in offered and "createHook" in offered["hooks"]


@pytest.mark.parametrize("word", ["", "a b", "x;y", "`x`", "\x1b[0m", "é", "a" * 129, 3, None])
def test_only_plain_words_go_to_the_shell(word):
    assert not api_index._word(word)
    assert api_index._word("purge-cache") and api_index._word("list_x2")


def test_the_file_stays_in_its_folder_whatever_the_references_path(cache, tmp_path,
                                                                  monkeypatch):
    """The index's file name is a hash of the references' path, never the path: a
    ``$TASKCLUSTER_REFERENCES`` of ``..`` segments, separators or odd characters writes
    one plain file inside ``<cache>/completion`` (the path itself is kept in the file and
    checked on reading, so two folders never share an index)."""
    import shutil

    from tcdyn.references import bundled_dir

    folder, built = cache
    refs = tmp_path / "a b;$(x)" / ".." / "refs\u202e"
    shutil.copytree(bundled_dir() / "references", tmp_path / "refs\u202e" / "references")
    (tmp_path / "a b;$(x)").mkdir()
    monkeypatch.setenv("TASKCLUSTER_REFERENCES", str(refs))
    monkeypatch.setattr("tcdyn.default._default", None)
    assert "createTask" in names(api_index.services())["queue"]
    written = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert [p.parent for p in written] == [folder]
    assert all(len(p.stem) == 8 and int(p.stem, 16) >= 0 and p.suffix == ".json"
               for p in written)
    monkeypatch.setenv("TASKCLUSTER_REFERENCES", str(tmp_path / "refs\u202e"))
    api_index.services()
    assert len(built) == 1  # the same folder spelt plainly: the same index
    shutil.copytree(tmp_path / "refs\u202e", tmp_path / "other")
    monkeypatch.setenv("TASKCLUSTER_REFERENCES", str(tmp_path / "other"))
    api_index.services()
    assert len(built) == 2 and len(list(folder.iterdir())) == 2  # another path, its own
