"""``stack.env`` of ``scripts/taskcluster.sh up`` works as it says: ``. this-file`` and then
``tcdyn`` (and ``tcdyn listen``, through ``$TCDYN_PULSE_URL``) use the stack (issue 18 item
20). The writer runs against a temporary ``TCDYN_STACK_DIR`` and a local deployment standing
in for the stack's rootUrl, so the running stack is not touched."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "taskcluster_stack.py"
TOKEN = "stack-env-test-token"


def _stack_module(monkeypatch: pytest.MonkeyPatch, state: Path, port: int) -> ModuleType:
    monkeypatch.setenv("TCDYN_STACK_DIR", str(state))
    monkeypatch.setenv("TCDYN_STACK_PORT", str(port))
    spec = importlib.util.spec_from_file_location("taskcluster_stack_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sourcing_stack_env_gives_tcdyn_the_stack(monkeypatch, tmp_path):
    clients = {"static/taskcluster/root": ClientRecord(TOKEN, ("*",))}
    with LocalDeployment(clients=clients) as dep:
        port = int(dep.root_url.rsplit(":", 1)[1])
        stack = _stack_module(monkeypatch, tmp_path / "state", port)
        stack.STATE.mkdir(parents=True)
        stack.write_env({"accessToken": TOKEN, "pulseUser": "pulse-user",
                         "pulsePassword": "pulse-pass"}, Path("src.tar.gz"), "abc123")
        env_file = stack.ENV_FILE
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("TASKCLUSTER_", "TCDYN_"))}
        clean["TCDYN_CONFIG"] = str(tmp_path / "none.toml")
        clean["TCDYN_CACHE_DIR"] = str(tmp_path / "cache")
        run = subprocess.run(["bash", "-c", '. "$1" && exec "$2" -m tcdyn whoami', "sh",
                              str(env_file), sys.executable], env=clean, capture_output=True,
                             text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    who = json.loads(run.stdout)
    assert who["rootUrl"] == dep.root_url and who["clientId"] == "static/taskcluster/root"
    probe = ("import os; print(os.environ['TCDYN_PULSE_URL']); "
             "print(os.environ['TCDYN_STACK_PULSE_URL'])")
    pulse = subprocess.run(["bash", "-c", '. "$1" && exec "$2" -c "$3"', "sh", str(env_file),
                            sys.executable, probe], env=clean, capture_output=True, text=True,
                           timeout=60)
    assert pulse.stdout.split() == ["amqp://pulse-user:pulse-pass@127.0.0.1:5672/taskcluster"] * 2
    assert stack.read_env_file(env_file)["TASKCLUSTER_ACCESS_TOKEN"] == TOKEN
