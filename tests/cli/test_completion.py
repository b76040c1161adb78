"""Bash completion (argcomplete): source `tcdyn completion bash` and call its function."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


# -- the cached index of `tcdyn api` ------------------------------------------------------

#: Answers one completion request as the shell would (argcomplete's protocol, the answer in
#: a file) and lists ``sys.modules`` as argcomplete exits (with ``os._exit``).
PROBE = """
import os, sys
real_exit = os._exit
def exit_listing(code):
    sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
    sys.stderr.flush()
    real_exit(code)
os._exit = exit_listing
from tcdyn.cli import main
main([])
"""


def complete(line: str, env: dict[str, str], tmp_path: Path) -> tuple[list[str], set[str]]:
    """The words offered for ``line`` and the modules the answering process imported."""
    answer = tmp_path / "answer"
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
        env={**env, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "bash", "COMP_LINE": line,
             "COMP_POINT": str(len(line)), "_ARGCOMPLETE_IFS": "\n",
             "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)})
    assert "MODULES " in run.stderr, run.stderr[-2000:]
    return answer.read_text().split(), set(run.stderr.rsplit("MODULES ", 1)[1].split())


def completion_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TASKCLUSTER_REFERENCES"}
    return {**env, "TCDYN_CACHE_DIR": str(tmp_path / "cache"),
            "TCDYN_CONFIG": str(tmp_path / "none.toml"), **extra}


#: What building a class (or reading a reference) imports.
BUILDING = {"tcdyn.deployment", "tcdyn.default", "tcdyn.classes.meta",
            "tcdyn.references.index", "tcdyn.model.reference", "tcdyn.client.base"}


def test_method_names_come_from_the_cached_index_without_building_a_class(tmp_path):
    env = completion_env(tmp_path)
    words, cold = complete("tcdyn api queue cre", env, tmp_path)
    assert words == ["createTask", "createArtifact"]
    assert {"tcdyn.references.index", "tcdyn.model.reference"} <= cold  # the index made
    assert not cold & {"tcdyn.classes.meta", "tcdyn.client.base"}  # ... without a class
    assert list((tmp_path / "cache" / "completion").iterdir())
    for line, expected in (("tcdyn api queue cre", {"createTask", "createArtifact"}),
                           ("tcdyn api qu", {"queue"}),
                           ("tcdyn api queue listTaskGroup --", {"--query", "--all",
                                                                 "--root-url"})):
        words, warm = complete(line, env, tmp_path)
        assert expected <= set(words), (line, words)
        assert not warm & BUILDING, (line, warm & BUILDING)


def test_the_index_follows_the_references(tmp_path):
    import shutil

    from tcdyn.references import bundled_dir

    refs = tmp_path / "refs"
    shutil.copytree(bundled_dir() / "references", refs / "references")
    env = completion_env(tmp_path, TASKCLUSTER_REFERENCES=str(refs))
    assert complete("tcdyn api queue cre", env, tmp_path)[0] == ["createTask",
                                                                 "createArtifact"]
    api = refs / "references" / "queue" / "v1" / "api.json"
    api.write_text(api.read_text().replace('"name": "createTask"',
                                           '"name": "createTaskNow"'))
    assert complete("tcdyn api queue cre", env, tmp_path)[0] == ["createTaskNow",
                                                                 "createArtifact"]


# -- the index's own answer, without argparse or argcomplete ------------------------------

#: As PROBE, with the index's own answer switched off when TCDYN_TEST_ARGCOMPLETE is set.
PARITY_PROBE = PROBE.replace("from tcdyn.cli import main\n", """\
if os.environ.get("TCDYN_TEST_ARGCOMPLETE"):
    import tcdyn.cli.completion
    tcdyn.cli.completion._from_index = lambda: None
from tcdyn.cli import main
""")
assert PARITY_PROBE != PROBE

#: (shell, what its script sets): argcomplete's own variables per shell
SHELL_ENV = {
    "bash": {"_ARGCOMPLETE_SHELL": "bash", "_ARGCOMPLETE_IFS": "\013",
             "_ARGCOMPLETE_SUPPRESS_SPACE": "0"},
    "bash, no compopt": {"_ARGCOMPLETE_SHELL": "bash", "_ARGCOMPLETE_IFS": "\013"},
    "zsh": {"_ARGCOMPLETE_SHELL": "zsh", "_ARGCOMPLETE_SUPPRESS_SPACE": "1"},
    "fish": {"_ARGCOMPLETE_SHELL": "fish", "_ARGCOMPLETE_DFS": "\t", "_ARGCOMPLETE_IFS": "\n",
             "_ARGCOMPLETE_SUPPRESS_SPACE": "1"},
}
LINES = ["tcdyn api qu", "tcdyn api queue cre", "tcdyn api queue createT",
         "tcdyn api queue zzz", "tcdyn api p", "tcdyn api purge-cache p", "tcdyn api h",
         # left to argcomplete: an empty word, an option, other words, odd characters
         "tcdyn api queue ", "tcdyn api queue -", "tcdyn api nosuch cr", "tcdyn  api qu",
         "tcdyn --root-url x api qu", "tcdyn api 'qu", "tcdyn api queue createTask a",
         "tcdyn task st"]
FROM_INDEX = LINES[:7]


def raw_answer(line: str, env: dict[str, str], tmp_path: Path,
               argcomplete: bool) -> tuple[str, set[str]]:
    answer = tmp_path / "answer"
    answer.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-c", PARITY_PROBE], capture_output=True, text=True, timeout=120,
        env={**env, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
             "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
             **({"TCDYN_TEST_ARGCOMPLETE": "1"} if argcomplete else {})})
    assert "MODULES " in run.stderr, run.stderr[-2000:]
    return answer.read_text(), set(run.stderr.rsplit("MODULES ", 1)[1].split())


@pytest.mark.parametrize("shell", list(SHELL_ENV))
def test_the_index_answers_as_argcomplete_does(tmp_path, shell):
    """Byte for byte the answer argcomplete gives (names, order, the lone answer's space,
    zsh's and fish's descriptions), without importing argparse or argcomplete; every other
    request is argcomplete's."""
    env = {k: v for k, v in completion_env(tmp_path).items()
           if not k.startswith("_ARGCOMPLETE")}
    env.update(SHELL_ENV[shell])
    complete("tcdyn api queue cre", completion_env(tmp_path), tmp_path)  # the index made
    for line in LINES:
        ours, modules = raw_answer(line, env, tmp_path, argcomplete=False)
        theirs, _ = raw_answer(line, env, tmp_path, argcomplete=True)
        assert ours == theirs, (line, ours, theirs)
        from_index = not modules & {"argparse", "argcomplete"}
        assert from_index == (line in FROM_INDEX), line
    ours, _ = raw_answer("tcdyn api queue cre", env, tmp_path, argcomplete=False)
    assert ours.startswith("createTask") and "createArtifact" in ours
