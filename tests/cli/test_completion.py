"""Bash completion (argcomplete): source `tcdyn completion bash` and call its function."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMPLETE = r'''
eval "$(tcdyn completion bash)"
_c() {
    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<< "$COMP_LINE"
    [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    _python_argcomplete tcdyn "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}"; echo "--"
}
_c "tcdyn ap"
_c "tcdyn api qu"
_c "tcdyn api queue createT"
_c "tcdyn api queue listTaskGroup --"
_c "tcdyn task "
'''


def test_bash_completes_commands_services_methods_and_options(tmp_path):
    bindir = str(Path(sys.executable).parent)  # where the tcdyn script is installed
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "TCDYN_CONFIG": str(tmp_path / "none.toml")}
    env.pop("TASKCLUSTER_REFERENCES", None)
    run = subprocess.run(["bash", "-c", COMPLETE], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    answers = [block.split() for block in run.stdout.split("--\n")[:-1]]
    assert answers[0] == ["api"]
    assert answers[1] == ["queue"]
    assert answers[2] == ["createTask"]
    assert {"--query", "--all", "--root-url", "--references"} <= set(answers[3])
    assert {"status", "def", "log", "artifacts", "cancel", "rerun", "complete", "claim",
            "retrigger", "create"} == set(
        answers[4]) - {"-h", "--help"}


def test_completion_script_for_each_shell():
    from tcdyn.cli import main

    for shell in ("bash", "zsh", "fish"):
        out = subprocess.run([sys.executable, "-m", "tcdyn", "completion", shell],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "tcdyn" in out.stdout, out.stderr
    assert main(["completion", "tcsh"]) == 2
