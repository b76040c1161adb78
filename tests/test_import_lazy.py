"""Issue 11 item 4: ``import tcdyn; tcdyn.Queue`` loads only what building a class needs, and
a sync client never loads asyncio. Each module below is imported where it is first used."""

from __future__ import annotations

import json
import subprocess
import sys

#: Imported by tcdyn only when used: signing bewits, making slugids and certificates,
#: hashing, writing the reference cache, parsing Retry-After dates, retrying, pickling
#: errors, async clients.
LAZY = ("asyncio", "email.utils", "mohawk", "slugid", "hashlib", "hmac", "shutil",
        "tempfile", "secrets", "datetime", "base64", "random", "pickle", "uuid", "socket",
        "httpx", "jsonschema", "aio_pika")

PROBE = """
import json, sys
before = set(sys.modules)
import tcdyn
tcdyn.Queue
at_class = sorted(set(sys.modules) - before)
q = tcdyn.Queue(rootUrl="https://tc.example.com")
at_client = sorted(set(sys.modules) - before)
print(json.dumps({"class": at_class, "client": at_client}))
"""


def probe() -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_a_class_loads_none_of_the_lazy_modules():
    assert loaded(probe()["class"], LAZY) == []


def test_a_sync_client_does_not_load_asyncio():
    assert loaded(probe()["client"], ("asyncio", "slugid")) == []


def test_the_lazy_modules_are_there_when_used():
    code = """
import sys, tcdyn
from datetime import timedelta
from tcdyn.credentials import Credentials, signed_url
from tcdyn.call.options import RetryPolicy
from tcdyn.call.retry import retry_after
creds = Credentials("me", "secret").create_temporary(["a"], timedelta(minutes=1))
assert signed_url(creds, "https://tc.example.com/x", 60).count("bewit=") == 1
assert creds.expires > creds.start and not creds.is_expired()
assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
assert 0 < RetryPolicy().delay(1) < 1
print(sorted(m for m in ("mohawk", "slugid", "hashlib", "datetime", "email.utils", "random")
             if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["datetime", "email.utils", "hashlib",
                                                 "mohawk", "random", "slugid"]
