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


# -- hostile schemas: the typed payloads and responses (issue 23 item 4)

KEYS = ['he said "hi"\\', "class", "__class__", "a-b", "a_b", "x\nimport os", "\u202e",
        "_typing", "", "0"]
ENUM = ['quote " here', "back\\slash", "nul \x00", "lone \udc80", 'triple """', 7, True,
        None]


def _hostile_schemas(root: Path) -> None:
    """Hostile keys, enum values and titles, recursion, $ref loops and exponential
    expansion, in the schema of createTask's payload."""
    path = root / "schemas" / "queue" / "v1" / "create-task-request.json"
    schema = json.loads(path.read_text())
    defs = {
        "node": {"type": "object", "title": 'Node """ \x1b[2K', "properties": {
            "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
            "name": {"type": "string"}}, "required": ["name"]},
        "loop": {"$ref": "#/definitions/loop"},
        "strings": {"oneOf": [{"type": "string"},
                              {"type": "array", "items": {"$ref": "#/definitions/strings"}}]},
        **{f"e{i}": {"oneOf": [{"$ref": f"#/definitions/e{i + 1}"},
                               {"type": "array", "items": {"$ref": f"#/definitions/e{i + 1}"}}]}
           for i in range(40)},
        "e40": {"type": "integer"},
    }
    schema["definitions"] = defs
    hostile = {key: {"type": "string"} for key in KEYS}
    schema["properties"].update({
        "hostile": {"type": "object", "additionalProperties": False, "properties": hostile,
                    "required": ["class", "\u202e"]},
        "choice": {"enum": ENUM},
        "tree": {"$ref": "#/definitions/node"},
        "loop": {"$ref": "#/definitions/loop"},
        "strings": {"$ref": "#/definitions/strings"},
        "explode": {"$ref": "#/definitions/e0"},
        "deep": {"type": "array", "items": {"type": "array", "items": {"type": "array",
                 "items": {"type": "array", "items": {"type": "string"}}}}},
    })
    path.write_text(json.dumps(schema))  # ensure_ascii: the surrogate as \udc80


@pytest.fixture
def hostile_schemas(tmp_path: Path, deployment_dir: Path) -> Path:
    refs = tmp_path / "schemas-hostile"
    shutil.copytree(deployment_dir, refs)
    _hostile_schemas(refs)
    return refs


def test_hostile_schemas_give_types_that_parse_run_and_type_check(hostile_schemas, tmp_path):
    out = tmp_path / "typings" / "mytc"
    run = _stubs(hostile_schemas, out)
    assert run.returncode == 0, run.stderr
    text = (out / "types.pyi").read_text(encoding="utf-8")
    tree = ast.parse(text)
    names = [t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)]
    names += [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    assert len(names) == len(set(names)) and all(n.isidentifier() for n in names)
    assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text
    # it runs as Python: the keys are exactly the schema's, required ones required
    namespace: dict[str, object] = {}
    exec(compile(text, "types.py", "exec"), namespace)
    hostile = namespace["QueueCreateTaskRequest_Hostile"]
    assert hostile.__required_keys__ == {"class", "\u202e"}  # type: ignore[attr-defined]
    assert hostile.__optional_keys__ == set(KEYS) - {"class", "\u202e"}  # type: ignore[attr-defined]
    request = namespace["QueueCreateTaskRequest"].__annotations__  # type: ignore[attr-defined]
    assert "QueueCreateTaskRequest_Node" in str(request["tree"])  # recursion by name
    assert "QueueCreateTaskRequest_Node" in str(
        namespace["QueueCreateTaskRequest_Node"].__annotations__["children"])  # type: ignore[attr-defined]
    fields = text.split("class QueueCreateTaskRequest(")[1].split("\n\n")[0]
    assert "    loop: _typing.NotRequired[_typing.Any]" in fields  # a $ref loop
    assert "    explode: _typing.NotRequired[_typing.Any]" in fields  # 2**40 would not fit
    assert "    deep: _typing.NotRequired[list[list[list[list[str]]]]]" in fields
    choice = next(node.annotation for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                  and isinstance(node.target, ast.Name) and node.target.id == "choice")
    literal = next(node.slice for node in ast.walk(choice) if isinstance(node, ast.Subscript)
                   and ast.unparse(node.value) == "_typing.Literal")
    assert isinstance(literal, ast.Tuple)
    assert [ast.literal_eval(e) for e in literal.elts] == ENUM  # each value, exactly
    # and a type checker reads it
    (out / "__init__.pyi").write_text("from . import types as types\n")
    check = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                            str(out / "types.pyi")], capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
