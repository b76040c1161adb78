"""tcdyn's verdicts against the services' (ajv through the stack's lib-validate) on a
:class:`validation_corpus.Corpus`, and the frozen slice of it the unit suite keeps.

    python tests/real/differential.py --freeze   # rewrite tests/data/ajv-verdicts.json

(needs the stack of ``scripts/taskcluster.sh up``: its node and its Taskcluster tree).
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ajv_oracle import ROOT_URL, AjvOracle, service_url, stack_tools
from validation_corpus import BUNDLED, Case, Corpus

from tcdyn.errors import ReferenceLoadError, SchemaValidationError
from tcdyn.schemas import SchemaRegistry

CHECKOUT = Path(__file__).resolve().parents[2]
FROZEN = CHECKOUT / "tests" / "data" / "ajv-verdicts.json"
#: The corpus seed every run compares (a second, varying seed runs beside it).
FIXED_SEED = 19


@dataclass
class Outcome:
    """What one comparison run found."""

    compared: int = 0
    #: tcdyn refused what the service accepts, or accepted what it refuses
    disagreements: list[tuple[Case, bool, bool]] = field(default_factory=list)
    #: tcdyn accepted, ajv refused, in a schema tcdyn says it leaves to the service
    left_to_service: int = 0
    #: schemas ajv refuses to compile (strict mode, an invalid pattern...): no verdict
    ajv_refuses: int = 0
    verdicts: list[tuple[Case, bool | None]] = field(default_factory=list)
    by_source: collections.Counter[str] = field(default_factory=collections.Counter)

    def summary(self, seed: int) -> str:
        refused = sum(1 for _, ajv, mine in self.disagreements if ajv and not mine)
        return (f"seed {seed}: {self.compared} comparisons with ajv, "
                f"{len(self.disagreements)} disagreements ({refused} refused by tcdyn, "
                f"{len(self.disagreements) - refused} accepted by tcdyn), "
                f"{self.left_to_service} left to the service, {self.ajv_refuses} on schemas "
                f"ajv refuses; {dict(self.by_source)}")


def stack_env() -> dict[str, str]:
    sys.path.insert(0, str(CHECKOUT / "tests" / "real"))
    from conftest import _read_stack

    env, why = _read_stack()
    if env is None:
        raise SystemExit(f"no Taskcluster stack: {why}")
    return env


def load_bundled(oracle: AjvOracle, documents: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One schema set per service, as each service loads its own."""
    return {service: oracle.load(service, docs) for service, docs in documents.items()}


def registry(documents: dict[str, dict[str, Any]], custom: dict[str, Any]) -> SchemaRegistry:
    docs = {f"/schemas/{s}/{rel}": doc for s, ds in documents.items() for rel, doc in ds.items()}
    docs.update({f"/schemas/t/{rel}": doc for rel, doc in custom.items()})
    return SchemaRegistry(lambda path: docs.get(path), root_url=ROOT_URL)


def tcdyn_verdict(reg: SchemaRegistry, case: Case) -> bool:
    try:
        reg.validate(f"/schemas/{case.schema[0]}/{case.schema[1]}", case.value, what="case")
    except SchemaValidationError:
        return False
    return True


def compare(reg: SchemaRegistry, cases: list[Case], ajv: list[bool | None]) -> Outcome:
    """tcdyn's verdict on each case against ajv's (None: ajv refuses the schema)."""
    outcome = Outcome()
    logging.getLogger("tcdyn").setLevel(logging.ERROR)  # the notices: counted below
    for case, theirs in zip(cases, ajv, strict=True):
        path = f"/schemas/{case.schema[0]}/{case.schema[1]}"
        try:
            mine = tcdyn_verdict(reg, case)
        except ReferenceLoadError as error:  # never: a schema is left to the service instead
            raise AssertionError(f"{path}: {error}") from None
        outcome.verdicts.append((case, theirs))
        if theirs is None:
            outcome.ajv_refuses += 1
            continue
        outcome.compared += 1
        outcome.by_source["custom" if case.schema[0] == "t" else "bundled"] += 1
        if mine == theirs:
            continue
        if mine and not theirs and reg.left_to_service(path):
            outcome.left_to_service += 1
            continue
        outcome.disagreements.append((case, theirs, mine))
    return outcome


def ajv_verdicts(oracle: AjvOracle, sets: dict[str, str], cases: list[Case]
                 ) -> list[bool | None]:
    """ajv's verdicts; None for a case whose schema ajv refuses to compile."""
    items = [(sets[c.schema[0]], service_url(*c.schema), c.value) for c in cases]
    out: list[bool | None] = []
    for start in range(0, len(items), 1000):
        chunk = items[start:start + 1000]
        try:
            out += oracle.check(chunk)
        except RuntimeError:  # one schema ajv refuses: ask one by one
            for item in chunk:
                try:
                    out += oracle.check([item])
                except RuntimeError:
                    out.append(None)
    return out


def run(oracle: AjvOracle, seed: int) -> tuple[Corpus, Outcome]:
    corpus = Corpus(seed)
    cases = list(corpus.cases())
    sets = load_bundled(oracle, corpus.documents)
    sets["t"] = oracle.load("t", corpus.custom)
    verdicts = ajv_verdicts(oracle, sets, cases)
    return corpus, compare(registry(corpus.documents, corpus.custom), cases, verdicts)


# --- the frozen slice --------------------------------------------------------------------------

def freeze(corpus: Corpus, outcome: Outcome, size: int = 2600) -> dict[str, Any]:
    """A sample of ``outcome``'s cases with ajv's verdicts, compact (mutations as patches)."""
    rng = random.Random(corpus.seed)
    decided = [(c, v) for c, v in outcome.verdicts if v is not None]
    custom = [x for x in decided if x[0].schema[0] == "t"]
    features = [x for x in custom if x[0].schema[1] in corpus.features]  # every one
    custom = [x for x in custom if x[0].schema[1] not in corpus.features]
    bundled = [x for x in decided if x[0].schema[0] != "t"]
    chosen = rng.sample(bundled, min(len(bundled), size * 3 // 5))
    chosen += features
    chosen += rng.sample(custom, max(0, min(len(custom), size - len(chosen))))
    bases: dict[int, Any] = {}
    cases: list[list[Any]] = []
    schemas: dict[str, Any] = {}
    for case, verdict in chosen:
        if case.schema[0] == "t":
            schemas[case.schema[1]] = corpus.custom[case.schema[1]]
        if case.patch is not None:
            index, path, new = case.patch
            bases.setdefault(index, corpus.base_values[index])
            cases.append([*case.schema, {"base": index, "path": list(path), "new": new},
                          verdict])
        else:
            cases.append([*case.schema, {"value": case.value}, verdict])
    source = json.loads((BUNDLED / "SOURCE.json").read_text())
    return {
        "about": "A slice of the differential corpus of tests/real (tests/real/"
                 "validation_corpus.py, seed below) with the verdicts of the Taskcluster "
                 "v106 stack's own validator: ajv 8.20.0 + ajv-formats 2.1.1 through "
                 "libraries/validate (lib-validate's SchemaSet). Written by "
                 "`python tests/real/differential.py --freeze`; checked without node by "
                 "tests/test_validation_ajv.py.",
        "seed": corpus.seed,
        "references": {"version": source.get("version"), "sha256": source.get("sha256")},
        "custom": schemas,
        "bases": {str(k): v for k, v in sorted(bases.items())},
        "cases": cases,
    }


def main(argv: list[str]) -> int:
    node, tree = stack_tools(stack_env())
    with AjvOracle(node, tree) as oracle:
        corpus, outcome = run(oracle, FIXED_SEED)
    print(outcome.summary(FIXED_SEED))
    if "--freeze" in argv:
        if outcome.disagreements:
            print("not frozen: tcdyn disagrees with ajv")
            return 1
        data = freeze(corpus, outcome)
        head = {k: v for k, v in data.items() if k != "cases"}
        lines = [json.dumps(case, ensure_ascii=True, separators=(",", ":"))
                 for case in data["cases"]]
        text = (json.dumps(head, ensure_ascii=True, indent=1)[:-2]
                + ',\n "cases": [\n' + ",\n".join(lines) + "\n ]\n}\n")
        json.loads(text)
        FROZEN.write_text(text)
        print(f"wrote {FROZEN} ({len(data['cases'])} cases, "
              f"sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
