"""Importing tcdyn is cheap: nothing heavy is imported and nothing parsed until used."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import tcdyn
after_import = sorted(m for m in ('httpx', 'jsonschema', 'aio_pika', 'referencing')
                      if m in sys.modules)
tcdyn.Queue
after_class = sorted(m for m in ('httpx', 'jsonschema', 'aio_pika', 'referencing')
                     if m in sys.modules)
from tcdyn.default import default
refs = default().references
print(json.dumps({"import": after_import, "class": after_class, "parsed": sorted(refs._models)}))
"""


def test_import_is_lazy():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    seen = json.loads(out)
    assert seen["import"] == []
    assert seen["class"] == []  # a class needs neither httpx nor jsonschema nor aio-pika
    assert seen["parsed"] == ["Queue"]  # only the reference that was used
