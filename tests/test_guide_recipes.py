"""The guides' recipes run as copied (issue 18 item 25; the README's sections moved to
docs/guides/, issue 24): the Python blocks of the sections below are run as they stand, and
scripts/rabbitmq.sh says the logins it made."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ROOT / "docs" / "guides"


def python_blocks(page: str, heading: str) -> list[str]:
    """The ```python blocks of the section under ``heading`` of ``docs/guides/<page>`` (to
    the next heading of the same or a higher level; a ``#`` inside a block is a comment, not
    a heading)."""
    level = len(heading.split(" ", 1)[0])
    lines = (GUIDES / page).read_text().splitlines()
    start = lines.index(heading) + 1
    section, fenced = [], False
    for line in lines[start:]:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        section.append(line)
    return re.findall(r"```python\n(.*?)```", "\n".join(section), re.DOTALL)


def test_the_local_deployment_recipe_runs_as_copied(tmp_path, monkeypatch):
    [recipe] = python_blocks("testing.md", "## The local deployment (`tcdyn.testing`)")
    monkeypatch.chdir(tmp_path)  # nothing beside the page is needed
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(recipe, "docs/guides/testing.md: The local deployment", "exec"), {})
    assert "'taskId': 'abc'" in out.getvalue()


def _ready_line() -> str:
    script = (ROOT / "scripts" / "rabbitmq.sh").read_text()
    [line] = [x for x in script.splitlines() if x.lstrip().startswith('log "ready:')]
    return line


def test_rabbitmq_sh_says_the_logins_it_made():
    line = _ready_line()
    assert "passwords above" not in line
    urls = re.findall(r"amqp://[^\s)\"]+", line)
    script = (ROOT / "scripts" / "rabbitmq.sh").read_text()
    made = re.findall(r"^ensure_user (\S+) (\S+)$", script, re.MULTILINE)
    assert made and sorted(urls) == sorted(
        f"amqp://{user}:{password}@localhost:5672/" for user, password in made)


def test_the_logins_rabbitmq_sh_says_work():
    import aio_pika

    async def login(url: str) -> None:
        connection = await aio_pika.connect(url, timeout=10)
        await connection.close()

    urls = re.findall(r"amqp://[^\s)\"]+", _ready_line())
    assert urls, _ready_line()
    for url in urls:
        try:
            asyncio.run(login(url))
        except ConnectionError as exc:  # no broker here: refused, not a wrong password
            if os.environ.get("TCDYN_REQUIRE_BROKER") == "1":
                raise
            pytest.skip(f"no RabbitMQ at localhost:5672 ({exc}); run scripts/rabbitmq.sh")
