"""The command starts quickly: what each command imports (not how long it takes).

``tcdyn --version``, ``slugid`` and ``from-now`` are answered by ``tcdyn.cli.quick`` before
``argparse``, ``logging`` or ``typing`` is imported; every other command builds the parser of
its own module only. Read from ``python -X importtime`` (which lists every module a process
imports), so a stray import fails here whatever the machine's speed.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import subprocess
import sys

import pytest

from tcdyn.cli import _GROUPS, COMMANDS, build_parser, common_parser, main, quick

#: Runs the command as ``python -m tcdyn`` does and, at exit, lists ``sys.modules`` (what
#: ``-X importtime`` shows, plus what ``importlib.import_module`` loads, which it does not).
PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n"))
if sys.argv[1:2] != ["pass"]:
    import runpy
    sys.argv = ["tcdyn", *sys.argv[1:]]
    runpy.run_module("tcdyn", run_name="__main__", alter_sys=True)
"""


def imported(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules ``python -m tcdyn ARGS`` imports, and its stdout."""
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                         text=True, timeout=60, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr[-2000:]
    line = run.stderr.rsplit("\nMODULES ", 1)[1]
    return set(line.split()), run.stdout


@functools.cache
def startup() -> frozenset[str]:
    """What the interpreter (and the probe) imports before any of tcdyn's code runs."""
    return frozenset(imported("pass")[0])


def third_party(names: set[str]) -> set[str]:
    return {n for n in names - startup() if n.split(".")[0] not in sys.stdlib_module_names
            and n.split(".")[0] != "tcdyn"}


def test_the_probe_sees_what_importlib_imports():
    names, _ = imported("slugid", "--help")  # tcdyn.cli.auth: by importlib.import_module
    assert "tcdyn.cli.auth" in names and "argparse" in names


QUICK = {
    ("--version",): ({"tcdyn", "tcdyn.errors", "tcdyn.cli", "tcdyn.cli.quick"}, set()),
    ("slugid",): ({"tcdyn", "tcdyn.errors", "tcdyn.cli", "tcdyn.cli.quick"},
                  {"slugid", "slugid.slugid"}),
    ("slugid", "-n", "2", "--v4"): ({"tcdyn", "tcdyn.errors", "tcdyn.cli", "tcdyn.cli.quick"},
                                    {"slugid", "slugid.slugid"}),
    ("from-now", "2", "hours"): ({"tcdyn", "tcdyn.errors", "tcdyn.cli", "tcdyn.cli.quick",
                                  "tcdyn.dates"}, set()),
}


@pytest.mark.parametrize("args", list(QUICK), ids=" ".join)
def test_quick_commands_import_only_what_they_use(args):
    names, out = imported(*args)
    ours, theirs = QUICK[args]
    assert {n for n in names if n.split(".")[0] == "tcdyn"} == ours
    assert third_party(names) == theirs
    # the costly standard modules of the other commands (re comes with slugid's base64
    # and the offset grammar; pip's console script imports it anyway)
    assert not names & {"argparse", "logging", "typing", "json", "pathlib", "dataclasses"}
    if args == ("--version",):
        assert "re" not in names - startup()
    assert out.strip()


@pytest.mark.parametrize("command", ["slugid", "task", "listen", "references"])
def test_a_command_builds_the_parser_of_its_module_only(command):
    names, out = imported(command, "--help")
    groups = {n.rsplit(".", 1)[1] for n in names if n.startswith("tcdyn.cli.")} & set(_GROUPS)
    assert groups == {COMMANDS[command]}
    assert f"usage: tcdyn {command}" in out


def test_help_and_unknown_commands_build_every_module():
    names, out = imported("--help")
    assert set(_GROUPS) <= {n.rsplit(".", 1)[1] for n in names if n.startswith("tcdyn.cli.")}
    assert all(f"    {command}" in out for command in COMMANDS if command != "api")


def test_commands_table_is_what_the_modules_register():
    """``COMMANDS`` (command -> its module) against each module's ``add_commands``, and the
    whole parser's commands in ``tcdyn --help``'s order."""
    registered: dict[str, str] = {}
    for group in _GROUPS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"tcdyn.cli.{group}").add_commands(sub, common_parser())
        registered.update({name: group for name in sub.choices})
    assert registered == COMMANDS
    whole = build_parser()
    choices = next(a for a in whole._actions if isinstance(a, argparse._SubParsersAction))
    assert list(choices.choices) == list(COMMANDS)


@pytest.mark.parametrize("argv", [
    ["--version", "--help"], ["-v", "--version"], ["slugid", "-n", "0"], ["slugid", "-n3"],
    ["slugid", "--v"], ["slugid", "-n", "1" * 19], ["slugid", "-n"], ["slugid", "--help"],
    ["slugid", "extra"], ["from-now"], ["from-now", "-1", "day"], ["from-now", "--help"],
    ["from-now", "two", "hours"], ["fromnow", "2h"], []])
def test_other_forms_are_left_to_the_parser(argv, capsys):
    assert quick.answer(list(argv)) is None
    assert capsys.readouterr().out == ""


def test_quick_answers_are_the_parsers(monkeypatch, capsys):
    """The same argv through ``quick`` and through the parser (``quick`` switched off)."""
    cases = [["--version"], ["slugid"], ["slugid", "-n", "3"], ["slugid", "--v4", "-n", "2"],
             ["from-now", "2", "hours"], ["from-now", "1d", "3h"]]
    results = {}
    for switched_off in (False, True):
        if switched_off:
            monkeypatch.setattr(quick, "answer", lambda argv: None)
        for argv in cases:
            code = main(argv)
            results[switched_off, tuple(argv)] = (code, capsys.readouterr())
    slug = re.compile(r"[A-Za-z0-9_-]{22}")
    date = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")  # stringDate's
    for argv in map(tuple, cases):
        (code_a, a), (code_b, b) = results[False, argv], results[True, argv]
        assert code_a == code_b == 0 and a.err == b.err == ""
        lines_a, lines_b = a.out.splitlines(), b.out.splitlines()
        assert len(lines_a) == len(lines_b)
        if argv[0] == "--version":
            assert lines_a == lines_b
        elif argv[0] == "slugid":
            assert all(slug.fullmatch(x) for x in lines_a + lines_b)
            if "--v4" not in argv:  # nice slugids never start with '-'
                assert not any(x.startswith("-") for x in lines_a + lines_b)
        else:
            assert all(date.fullmatch(x) for x in lines_a + lines_b)
            assert abs(_ms(lines_a[0]) - _ms(lines_b[0])) < 60_000


def _ms(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp() * 1e3


def test_errors_of_quick_commands_are_the_parsers(capsys):
    assert main(["slugid", "-n", "0"]) == 2
    assert "argument -n: not a positive count: '0'" in capsys.readouterr().err
    assert main(["from-now", "two", "hours"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tcdyn: from-now: offset 'two hours' does not parse")
    assert main(["from-now", "-1", "day"]) == 0
    assert re.fullmatch(r"\d{4}-.*Z\n", capsys.readouterr().out)


def test_a_closed_pipe_stops_quick_commands_quietly():
    run = subprocess.run(f"{sys.executable} -m tcdyn slugid -n 100000 | head -1",
                         shell=True, capture_output=True, text=True, timeout=60)
    assert len(run.stdout.split()) == 1 and run.stderr == ""


#: What only a command that calls an API may import: the HTTP libraries, tcdyn's
#: transports and clients, the schema validators.
CALLING = ("httpx", "httpcore", "h11", "aiohttp", "aio_pika", "jsonschema", "mohawk",
           "jsonschema_rs", "fastjsonschema", "tcdyn.transport", "tcdyn.client", "tcdyn.call")


@pytest.mark.parametrize("args", [
    ("--help",), ("task", "--help"), ("completion", "bash"), ("whoami", "--help"),
    ("api", "--help"), ("api", "queue", "--help"), ("api", "queue", "ping", "--help"),
    ("references", "list")], ids=" ".join)
def test_commands_that_call_no_api_import_no_http(args, tmp_path):
    names, out = imported(*args, env={"TCDYN_CONFIG": str(tmp_path / "none.toml"),
                                      "TCDYN_CACHE_DIR": str(tmp_path / "cache")})
    assert out.strip()
    assert not {n for n in names if n.startswith(CALLING)}, sorted(
        n for n in names if n.startswith(CALLING))
