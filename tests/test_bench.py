"""The benchmark command (``bench/run.py``) does not rot, and the performance guide's table
is its output.

The smoke run measures nothing worth keeping (``--quick``: every contender once or twice);
it proves that every module of ``run.MODULES`` still runs through the interface
(``measure(quick)``), gives every target of issue 21 it owns, and that the result is written
and judged as the full run's is. The guide's table (docs/guides/performance.md) is compared
with what ``--render`` makes of the committed ``bench/results.json``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


run = _load("bench_run", BENCH / "run.py")  # it puts bench/ on sys.path for benchkit
import benchkit  # noqa: E402


def test_the_guide_table_is_the_committed_results():
    result = json.loads(run.RESULTS.read_text())
    page = run.PAGE.read_text()
    assert run.page_with(page, run.render(result)) == page, (
        "docs/guides/performance.md's benchmark table differs from bench/results.json: "
        "python bench/run.py --render")
    # every row of the JSON is in the table, as rendered
    table = page.split(run.BEGIN, 1)[1].split(run.END, 1)[0]
    assert len([r for r in table.splitlines() if r.startswith("| ") and "---" not in r]) == (
        1 + len(result["rows"]) + len(result["not_measured"]))


def test_committed_results_are_judged_by_the_one_rule():
    result = json.loads(run.RESULTS.read_text())
    for row, raw in zip(run.rows_of(result), result["rows"], strict=True):
        met, close = benchkit.judge(row)
        assert (raw["met"], raw["close"]) == (met, close), row.key
        assert raw["target"] == (str(benchkit.TARGETS[row.key]) if met is not None else None)


@pytest.mark.timeout(600)
def test_quick_run_of_every_module(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--json",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["quick"] is True
    assert not [m for m in result["modules"].values() if m["error"]]
    assert set(result["modules"]) == set(run.MODULES)
    keys = [r["key"] for r in result["rows"]]
    assert len(keys) == len(set(keys)), "a key measured twice"
    owned = {k for k, t in benchkit.TARGETS.items() if t.module in run.MODULES}
    assert owned <= set(keys)
    assert set(result["not_measured"]) == set(benchkit.TARGETS) - owned
    for row in run.rows_of(result):
        assert row.low <= row.value <= row.high, row
        assert row.value > 0 and all(f.median > 0 for f in row.figures), row
    # the table is printed with a verdict for each target
    for key in owned:
        assert str(benchkit.TARGETS[key]) in proc.stdout
    assert "met" in proc.stdout


def test_a_failing_module_fails_the_run(tmp_path, monkeypatch):
    """A module that raises is reported as failed (exit 1), never as figures."""
    (tmp_path / "bench_broken.py").write_text(
        "def measure(quick):\n    raise RuntimeError('the peer answered wrongly')\n")
    (tmp_path / "bench_none.py").write_text("x = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(run, "MODULES", ("bench_broken", "bench_none"))
    result = run.run(["bench_broken", "bench_none"], quick=True)
    assert result["rows"] == []
    assert "the peer answered wrongly" in result["modules"]["bench_broken"]["error"]
    assert "has no measure" in result["modules"]["bench_none"]["error"]


def test_a_unit_that_is_not_the_targets_is_refused():
    row = benchkit.Row("startup.version", "x", 20.0, "s", 20.0, 20.0)
    with pytest.raises(ValueError, match="measured in 's'"):
        benchkit.judge(row)


@pytest.mark.parametrize(("key", "value", "met", "close"), [
    ("startup.version", 24.0, True, True), ("startup.version", 20.0, True, False),
    ("startup.version", 26.0, False, True), ("transfer.upload.sync", 2.5, True, False),
    ("transfer.upload.sync", 1.7, False, True), ("call.sync.httpcore", 1.0, True, True),
    ("other.context", 9.0, None, False)])
def test_judge(key, value, met, close):
    unit = benchkit.TARGETS[key].unit if key in benchkit.TARGETS else "x"
    assert benchkit.judge(benchkit.Row(key, key, value, unit, value, value)) == (met, close)


def test_a_figure_close_to_its_target_is_measured_again(tmp_path, monkeypatch):
    """The issue: "rerun any figure within 10 % of its target". The first run's figure keeps
    the verdict; the reruns' figures are kept beside it, in the JSON and the guide's
    table."""
    (tmp_path / "bench_close.py").write_text(
        "import os\n"
        "from benchkit import Row\n"
        "def measure(quick):\n"
        "    n = int(os.environ.get('N', '0')); os.environ['N'] = str(n + 1)\n"
        "    return [Row('startup.version', 'v', 24.0, 'ms', 23.0, 25.0),\n"
        "            Row('startup.slugid', 's', 10.0, 'ms', 9.0, 11.0)]\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = run.run(["bench_close"], quick=True, reruns=2)
    close, far = result["rows"]
    assert (close["met"], close["close"], close["reruns"]) == (True, True, [24.0, 24.0])
    assert (far["met"], far["close"], far["reruns"]) == (True, False, [])
    assert "met (within 10 %); reruns 24.0 ms, 24.0 ms" in run.render(result)
    assert run.run(["bench_close"], quick=True, reruns=0)["rows"][0]["reruns"] == []
