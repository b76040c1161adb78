"""What a release is made of (pyproject.toml): one version source, the licence files, the
Python versions declared and the ones scripts/pythons.sh tests. scripts/wheel_smoke.sh checks
the built archives themselves and tries the wheel outside the checkout."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import tcdyn

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def declared_versions() -> list[str]:
    prefix = "Programming Language :: Python :: 3."
    return [c.rsplit(" ", 1)[1] for c in PROJECT["classifiers"] if c.startswith(prefix)]


def test_one_version_source():
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/tcdyn/__init__.py"
    # the installed metadata was made from __version__ (after `pip install -e .`)
    assert importlib.metadata.version("tcdyn") == tcdyn.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", tcdyn.__version__)


def test_declared_pythons_are_3_11_to_3_13_and_this_one():
    versions = declared_versions()
    assert {"3.11", "3.12", "3.13"} <= set(versions)
    assert PROJECT["requires-python"] == f">={min(versions, key=lambda v: int(v[2:]))}"
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert here in versions, f"the suite runs on Python {here}, which pyproject does not name"


def test_pythons_script_tests_the_declared_versions_besides_venv():
    env = {k: v for k, v in os.environ.items() if k != "TCDYN_PYTHONS"}
    listed = subprocess.run(["bash", str(ROOT / "scripts" / "pythons.sh"), "--list"], env=env,
                            capture_output=True, text=True, check=True).stdout.split()
    venv = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c",
                           "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert listed == [v for v in declared_versions() if v != venv]


def test_a_python_that_cannot_be_had_fails_the_run(tmp_path):
    env = {**os.environ, "TCDYN_PYTHONS": "3.99", "TCDYN_PYTHON_INSTALL": "0",
           "TCDYN_PYTHONS_DIR": str(tmp_path)}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "pythons.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FAILED: Python 3.99 is not on this machine" in done.stderr


def test_licence_files_of_tcdyn_and_of_the_bundled_references():
    assert PROJECT["license"] == "MPL-2.0"
    assert PROJECT["license-files"] == ["LICENSE", "NOTICE"]
    assert (ROOT / "LICENSE").read_text().startswith("Mozilla Public License Version 2.0")
    notice = (ROOT / "NOTICE").read_text()
    assert "tcdyn/_references/" in notice and "Taskcluster v106.0.0" in notice
    source = json.loads((ROOT / "references" / "SOURCE.json").read_text())
    assert source["license"] == "MPL-2.0" and source["version"] == "v106.0.0"
    # the wheel ships references/ as tcdyn/_references, the NOTICE's name for it
    force = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force == {"references": "tcdyn/_references"}


def test_docs_and_release_tools_are_extras_not_dependencies():
    extras = PROJECT["optional-dependencies"]
    runtime = " ".join(PROJECT["dependencies"])
    for tool in ("sphinx", "myst-parser", "furo", "build", "twine"):
        assert any(d.startswith(tool) for d in extras["docs"] + extras["release"]), tool
        assert tool not in runtime
