"""The official client's own tests, run against tcdyn (tests/official/README.md): each one
passes, or shows a difference the page docs/moving.md lists as deliberate, or is not run
for the reason ``harness.NOT_RUN`` gives. The same tests run against the official client
first, which proves the stand-ins (httmock, httptest, the shim) and the plugin sound.
Not fetched (scripts/setup.sh fetches them), they skip, which fails CI (tests/conftest.py)."""

from __future__ import annotations

import importlib.metadata
import re
from concurrent.futures import ThreadPoolExecutor

import harness
import pytest


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, harness.Outcome]]:
    why = harness.missing()
    if why:
        pytest.skip(why)
    # Two processes of their own, at once: each waits mostly on its loopback servers.
    with ThreadPoolExecutor(2) as pool:
        runs = {target: pool.submit(harness.run, target) for target in ("taskcluster", "tcdyn")}
        return {target: run.result() for target, run in runs.items()}


def test_the_official_tests_pass_against_the_official_client(outcomes):
    installed = importlib.metadata.version("taskcluster")
    assert installed == harness.VERSION, \
        f"the official client is {installed}, its tests fetched are {harness.VERSION}'s"
    official = outcomes["taskcluster"]
    failed = {t: harness.first_line(o.text) for t, o in official.items()
              if o.outcome != "passed" and t not in harness.REAL}
    assert not failed, f"the stand-ins or the plugin are wrong: {failed}"
    assert len(official) >= 160


def test_tcdyn_differs_only_where_the_page_says(outcomes):
    tcdyn, official = outcomes["tcdyn"], outcomes["taskcluster"]
    assert set(tcdyn) == set(official)
    wrong = {}
    for test, o in tcdyn.items():
        if test in harness.REAL:
            expected = "deselected"  # tests/real/test_real_official.py
        elif harness.NOT_RUN.get(test) or harness.NOT_RUN.get(test.split("[")[0]):
            expected = "deselected"
        else:
            difference = harness.expectation(test)
            expected = "failed" if difference and difference.status == "deliberate" \
                else "passed"
            if expected == "failed" and o.outcome == "failed" and difference and not \
                    re.search(difference.failure, o.text):
                wrong[test] = f"fails otherwise than {difference.name!r} says: " \
                              f"{harness.first_line(o.text)}"
                continue
        if o.outcome != expected:
            wrong[test] = f"{o.outcome}, expected {expected}: {harness.first_line(o.text)}"
    assert not wrong, "\n".join(f"{t}: {why}" for t, why in sorted(wrong.items()))


def test_every_listed_test_exists_and_every_difference_is_on_the_page(outcomes):
    known = set(outcomes["taskcluster"])
    functions = {t.split("[")[0] for t in known}
    listed = [t for d in harness.DIFFERENCES for t in d.tests]
    listed += [*harness.NOT_RUN, *harness.REAL]
    assert not [t for t in listed if t not in known and t not in functions]
    page = harness.PAGE.read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r"^\| (.+?) \| \*\*(removed|deliberate)\*\* \|", page, re.MULTILINE)}
    for d in harness.DIFFERENCES:
        assert rows.get(d.name) == d.status, f"{d.name!r} is not on the page as {d.status}"
        if d.status == "removed":
            assert d.proof and not d.failure, f"{d.name!r}: removed, proved by nothing"
        else:
            assert bool(d.tests) == bool(d.failure), f"{d.name!r}: which failure shows it?"
    assert len(rows) == len(harness.DIFFERENCES)
    for reason in harness.PRIVATE.values():
        assert reason in page, f"the page does not say why some tests are not run: {reason}"


def test_each_removed_difference_is_proved_by_a_test_of_tcdyn():
    root = harness.ROOT
    for d in harness.DIFFERENCES:
        for proof in d.proof:
            path, _, name = proof.partition("::")
            assert re.search(rf"^(async )?def {name}\(", (root / path).read_text(),
                             re.MULTILINE), f"{d.name!r}: no test {proof}"


def test_the_page_gives_the_counts_of_this_run(outcomes):
    tcdyn = outcomes["tcdyn"]
    passed = sum(o.outcome == "passed" for o in tcdyn.values())
    failed = sum(o.outcome == "failed" for o in tcdyn.values())
    shown = {d.name for t, o in tcdyn.items() if o.outcome == "failed"
             for d in [harness.expectation(t)] if d is not None}
    page = " ".join(harness.PAGE.read_text().split())
    for said in (f"{harness.VERSION} sdist, {len(tcdyn)} tests,",
                 f"**{passed + len(harness.REAL)} pass**",
                 f"{passed} in the unit suite", f"the {len(harness.REAL)} that need",
                 f"**{failed} differ, all deliberately**", f"show {len(shown)} of the",
                 f"**{len(harness.NOT_RUN)} are not run**"):
        assert said in page, f"the page should say {said!r}"
