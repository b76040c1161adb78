#!/usr/bin/env bash
# The release as a user gets it: build the sdist and the wheel (the wheel from the sdist, as
# `python -m build` does), check their metadata (twine check --strict) and contents, install
# the wheel into a fresh venv in a temporary directory outside the checkout, and try it from
# there: import and a call against tcdyn.testing's local deployment, the command (--version,
# slugid, demo), and mypy --strict on a small script that sees the shipped stubs.
# PYTHON picks the interpreter of the fresh venv (default: the one .venv was made with).
# Needs the release extra in .venv (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)')}
work=$(mktemp -d "${TMPDIR:-/tmp}/tcdyn-wheel-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { echo "wheel_smoke: $*" >&2; }

.venv/bin/python -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }
.venv/bin/python -m twine check --strict "$work"/dist/*
wheel=$(echo "$work"/dist/*.whl)
sdist=$(echo "$work"/dist/*.tar.gz)

# What the archives hold: the whole bundled reference set, the stubs, the licence files; no
# test of ours in the wheel.
.venv/bin/python - "$wheel" "$sdist" "$repo" <<'EOF'
import sys, tarfile, zipfile
from pathlib import Path

wheel, sdist, repo = sys.argv[1], sys.argv[2], Path(sys.argv[3])
names = zipfile.ZipFile(wheel).namelist()
bundled = sorted(p.relative_to(repo / "references").as_posix()
                 for p in (repo / "references").rglob("*") if p.is_file())
shipped = sorted(n.removeprefix("tcdyn/_references/") for n in names
                 if n.startswith("tcdyn/_references/"))
problems = []
if shipped != bundled:
    problems.append(f"tcdyn/_references differs from references/: "
                    f"missing {sorted(set(bundled) - set(shipped))[:5]}, "
                    f"extra {sorted(set(shipped) - set(bundled))[:5]}")
dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
for needed in ("tcdyn/py.typed", "tcdyn/_services/__init__.pyi", "tcdyn/_services/aio.pyi",
               f"{dist_info}/licenses/LICENSE", f"{dist_info}/licenses/NOTICE"):
    if needed not in names:
        problems.append(f"wheel lacks {needed}")
tests = [n for n in names if n.startswith("tests/") or "/tests/" in n or "conftest" in n
         or n.endswith(".pyc") or "__pycache__" in n]
if tests:
    problems.append(f"wheel holds test or cache files: {tests[:5]}")
members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
for needed in ("LICENSE", "NOTICE", "CHANGELOG.md", "README.md", "pyproject.toml",
               "references/SOURCE.json", "references/references/manifest.json"):
    if needed not in members:
        problems.append(f"sdist lacks {needed}")
if problems:
    sys.exit("wheel_smoke: " + "\n  ".join(problems))
print(f"wheel_smoke: {len(names)} files in the wheel, {len(shipped)} of them the bundled set",
      file=sys.stderr)
EOF

"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel" mypy 2>&1 \
    | grep -v "^WARNING: Location" || true
mkdir "$work/user"
cd "$work/user"  # not the checkout: nothing of it is importable from here
export PATH="$work/venv/bin:$PATH"
for name in $(env | grep -o '^\(TASKCLUSTER\|TCDYN\)_[A-Z_]*' || true); do unset "$name"; done
export HOME="$work/user" PYTHONNOUSERSITE=1 PYTHONSAFEPATH=1

cat > smoke.py <<'EOF'
import importlib.metadata
import sys
from pathlib import Path

import tcdyn
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

venv = Path(sys.prefix)
here = Path(tcdyn.__file__).resolve()
assert here.is_relative_to(venv.resolve()), f"tcdyn imported from {here}, not the venv"
assert importlib.metadata.version("tcdyn") == tcdyn.__version__
assert (here.parent / "_references" / "references" / "manifest.json").is_file()
with LocalDeployment(clients={"me": ClientRecord("token", ("queue:*",))},
                     check_scopes=True) as dep:
    dep.handle("queue", "task", lambda req: {"taskId": req.params["taskId"]})
    queue = tcdyn.Queue(rootUrl=dep.root_url,
                        credentials={"clientId": "me", "accessToken": "token"})
    assert queue.task("abc") == {"taskId": "abc"}, "call against the local deployment"
    try:
        tcdyn.Queue(rootUrl=dep.root_url,
                    credentials={"clientId": "me", "accessToken": "wrong"}).task("abc")
    except tcdyn.TaskclusterAuthFailure:
        pass
    else:
        raise AssertionError("a wrong accessToken was accepted")
print(f"smoke: tcdyn {tcdyn.__version__} from {here.parent}, a call answered")
EOF
python smoke.py

version=$(python -c 'import tcdyn; print(tcdyn.__version__)')
[ "$(tcdyn --version)" = "tcdyn $version" ] || { say "tcdyn --version: $(tcdyn --version)"; exit 1; }
tcdyn slugid | grep -Eqx '[A-Za-z0-9_-]{22}' || { say "tcdyn slugid printed no slugid"; exit 1; }
tcdyn demo > demo.out 2>&1 || { cat demo.out >&2; say "tcdyn demo failed"; exit 1; }
grep -q '^Done: ' demo.out || { cat demo.out >&2; say "tcdyn demo did not finish"; exit 1; }

# The stubs shipped in the wheel type a user's script: it passes mypy --strict; the same
# script with a misspelt method, or a misspelt key of the task, fails naming it (without the
# stubs tcdyn.Queue is unknown and the payload unchecked).
cat > typed.py <<'EOF'
import tcdyn
from tcdyn.types import QueueCreateTaskRequest


def create(task_id: str, definition: QueueCreateTaskRequest) -> str:
    queue: tcdyn.Queue = tcdyn.Queue(rootUrl="https://tc.example.com")
    status = queue.createTask(task_id, definition)
    for item in queue.listTaskGroup.items(task_id):
        print(item)
    return status["status"]["state"]


def literal(task_id: str) -> None:
    tcdyn.Queue(rootUrl="https://tc.example.com").createTask(task_id, {
        "taskQueueId": "proj/worker", "created": "2026-01-01T00:00:00.000Z",
        "deadline": "2026-01-02T00:00:00.000Z", "payload": {},
        "metadata": {"name": "n", "description": "d", "owner": "me@example.com",
                     "source": "https://example.com"}})
EOF
sed 's/queue.createTask(/queue.createTsk(/' typed.py > misspelt.py
sed 's/"taskQueueId"/"taskQueueID"/' typed.py > misspelt_key.py
mypy --strict --no-incremental typed.py
for bad in misspelt misspelt_key; do
    if mypy --strict --no-incremental "$bad.py" > "$bad.out" 2>&1; then
        cat "$bad.out" >&2
        say "mypy did not refuse $bad.py: the stubs are not seen"
        exit 1
    fi
done
grep -q '"Queue" has no attribute "createTsk"' misspelt.out \
    || { cat misspelt.out >&2; say "mypy refused misspelt.py for another reason"; exit 1; }
# (mypy names no key for a literal given to an overloaded method, only the call's line: the
# two files differ by the key alone, and typed.py passed)
grep -q '^misspelt_key.py:14: error' misspelt_key.out \
    || { cat misspelt_key.out >&2; say "mypy refused misspelt_key.py for another reason"; exit 1; }
say "ok: built, checked, installed outside the checkout, imported, called, commands and stubs"
