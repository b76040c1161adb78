"""tcdyn's validation decides as the services' validator does (issue 19).

The oracle is the v106 stack's own ``libraries/validate`` (ajv 8 + ajv-formats 2.1.1 with
Taskcluster's options) run by the stack's node (``scripts/ajv_oracle.mjs``); the corpus
(tests/real/validation_corpus.py) covers every input schema of the bundled set and every
Pulse message schema, mutated at every string, number, array and object, random patterns,
every format (also under ``not``) and the schema features ajv reads its own way. One seed is
fixed, the other changes every run (``TCDYN_DIFF_SEED`` to repeat one): each needs 30,000
comparisons and no disagreement either way.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import pytest
from ajv_oracle import AjvOracle, stack_tools
from differential import (
    FIXED_SEED,
    ajv_verdicts,
    compare,
    load_bundled,
    registry,
    run,
    tcdyn_verdict,
)
from validation_corpus import Case, Corpus, mutations

import tcdyn

MIN_COMPARISONS = 30_000


@pytest.fixture(scope="module")
def oracle(stack: dict[str, str]) -> Any:
    node, tree = stack_tools(stack)
    with AjvOracle(node, tree) as running:
        yield running


def _seed(kind: str) -> int:
    if kind == "fixed":
        return FIXED_SEED
    return int(os.environ.get("TCDYN_DIFF_SEED") or time.time_ns() % 1_000_000)


def _show(disagreements: list[tuple[Case, bool, bool]]) -> str:
    lines = [f"  {case.schema[0]}/{case.schema[1]}: ajv {'accepts' if theirs else 'refuses'}, "
             f"tcdyn {'accepts' if mine else 'refuses'}: {ascii(case.value)[:300]}"
             for case, theirs, mine in disagreements[:20]]
    return "\n".join(lines)


@pytest.mark.parametrize("kind", ["fixed", "varying"])
def test_tcdyn_decides_as_the_services_validator(oracle: AjvOracle, kind: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    seed = _seed(kind)
    _, outcome = run(oracle, seed)
    with capsys.disabled():
        print(f"\n[issue 19] {outcome.summary(seed)}")
    assert outcome.compared >= MIN_COMPARISONS
    assert outcome.by_source["bundled"] >= 15_000  # the bundled schemas are most of it
    assert outcome.disagreements == [], (
        f"seed {seed} (TCDYN_DIFF_SEED={seed} repeats it):\n{_show(outcome.disagreements)}")


def test_what_tcdyn_leaves_to_the_service_it_never_refuses(oracle: AjvOracle) -> None:
    # patterns tcdyn cannot spell (back-references into repeats, flag modifiers, ...):
    # left to the service with a notice, the rest of the schema still checked
    corpus = Corpus(FIXED_SEED)
    rng = random.Random(FIXED_SEED)
    schemas = {"a.json": {"type": "object", "properties": {
        "x": {"type": "string", "pattern": "^(?:(a)|b)+\\1$"},
        "y": {"type": "string", "pattern": "^(?i:ab)$"},
        "z": {"type": "integer", "maximum": 3}}}}
    values = [{"x": x, "y": y, "z": z} for x in ("aa", "ba", "bb", "", "a")
              for y in ("ab", "AB", "aB", "x") for z in (1, 4)]
    cases = [Case(("t", "a.json"), v) for v in values]
    cases += [Case(("t", "a.json"), v)
              for _, _, v in mutations(rng.choice(values), rng)]
    sets = load_bundled(oracle, {})
    sets["t"] = oracle.load("t", schemas)
    reg = registry(corpus.documents, schemas)
    assert len(reg.left_to_service("/schemas/t/a.json")) == 2
    outcome = compare(reg, cases, ajv_verdicts(oracle, sets, cases))
    assert outcome.disagreements == []  # no refusal ajv would not make
    assert outcome.left_to_service > 0 and outcome.compared > 40


def test_responses_the_service_made_pass_and_mutated_agree(
        oracle: AjvOracle, tc: Any, root: tcdyn.Credentials) -> None:
    """Responses are checked with the same rules: the service's own answers pass
    tcdyn's check, and their mutations get ajv's verdict on the output schema."""
    queue = tc.Queue(credentials=root, validate_responses=True)
    auth = tc.Auth(credentials=root, validate_responses=True)
    task_id = tcdyn.slugId()
    now = tcdyn.fromNow("0 seconds")
    task = {"provisionerId": "proj-diff", "workerType": "w", "created": now,
            "deadline": tcdyn.fromNow("1 hour"), "payload": {},
            "metadata": {"name": "n", "description": "d", "owner": "o@example.com",
                         "source": "https://example.com/x"}}
    answers = {
        ("queue", "v1/task-status-response.json"): queue.createTask(task_id, task),
        ("queue", "v1/task.json"): queue.task(task_id),
        ("queue", "v1/task-status-response.json#2"): queue.status(task_id),
        ("auth", "v1/scopeset.json"): auth.currentScopes(),
        ("auth", "v1/list-roles-response.json"): auth.listRoles(),
    }
    queue.close()
    auth.close()
    corpus = Corpus(FIXED_SEED)
    rng = random.Random(FIXED_SEED)
    cases, own = [], []
    for (service, rel), answer in answers.items():
        rel = rel.split("#")[0]
        own.append(len(cases))
        cases.append(Case((service, rel), answer))
        cases += [Case((service, rel), v) for _, _, v in mutations(answer, rng)]
    sets = load_bundled(oracle, corpus.documents)
    verdicts = ajv_verdicts(oracle, sets, cases)
    outcome = compare(registry(corpus.documents, {}), cases, verdicts)
    assert outcome.disagreements == [], _show(outcome.disagreements)
    assert [verdicts[i] for i in own] == [True] * len(own)  # the service's own answers
    for i in own:
        assert tcdyn_verdict(registry(corpus.documents, {}), cases[i])
    assert outcome.compared > 500
