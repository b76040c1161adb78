"""The documentation site: the quick start runs as written, and the generated API reference
says what tcdyn exposes (scripts/docs_api.py; scripts/docs.sh builds the site itself).

The quick start is the README's section between its two marker comments, which the site's
quick start page includes. Its plain ```sh and ```python blocks are run in order, as a reader
would paste them, in one shell in an empty directory with tcdyn's command on PATH: the shell
blocks start ``tcdyn serve`` (a local deployment) and call it, each Python block runs as a
script in that shell. ```console blocks (installing, your own deployment) are the ones a
reader adapts, and are not run.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tcdyn

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUICKSTART_PAGE = ROOT / "docs" / "quickstart.md"
START = "<!-- quick start: docs/quickstart.md shows it, tests/test_docs.py runs it -->"
END = "<!-- end of the quick start -->"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.S | re.M)


def quickstart() -> str:
    """The README's quick start: the text between its two marker comments."""
    text = README.read_text()
    assert text.count(START) == 1 and text.count(END) == 1, "the quick start's markers"
    return text.split(START, 1)[1].split(END, 1)[0]


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block, in order."""
    return [(info.strip(), code) for info, code in FENCE.findall(text)]


def quickstart_script(tmp_path: Path) -> str:
    lines = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    run = 0
    for lang, code in blocks(quickstart()):
        if lang == "sh":
            lines.append(code)
        elif lang == "python":
            run += 1
            script = tmp_path / f"quickstart_{run}.py"
            script.write_text(code)
            lines.append(f"python {script}")
        else:
            assert lang == "console", f"the quick start: a block of {lang!r}"
    assert run, "the quick start has no Python block"
    return "\n".join(lines) + "\n"


def test_quickstart_runs_as_written(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCLUSTER_", "TCDYN_"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    result = subprocess.run(["bash", "-c", quickstart_script(tmp_path)], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '"alive":true' in out                      # tcdyn api queue ping
    assert '"clientId":"tcdyn-serve"' in out          # tcdyn whoami
    assert re.search(r"^pending$", out, re.M)         # the first call's task
    assert "PUT /task/<taskId>" in out                # help(queue.createTask)


def test_quickstart_blocks_are_the_ones_run():
    """Changing the quick start's blocks into a form the test does not run fails here."""
    kinds = [lang for lang, _ in blocks(quickstart())]
    assert kinds.count("python") >= 1 and kinds.count("sh") >= 1, kinds
    assert all(k in ("sh", "python", "console") for k in kinds), kinds


def test_the_site_shows_the_readme_quick_start_and_it_fits_one_screen():
    """The site's quick start page is the README's section (one copy), and that section
    stays a quick start: at most a screen of lines, install, a command and a call."""
    page = QUICKSTART_PAGE.read_text()
    assert "```{include} ../README.md" in page
    assert f":start-after: {START}\n" in page and f":end-before: {END}\n" in page
    text = quickstart()
    assert len(text.strip().splitlines()) <= 60, len(text.strip().splitlines())
    for needed in ("pip install", "uv pip install", "pipx install", "tcdyn serve",
                   "TASKCLUSTER_ROOT_URL=https://"):
        assert needed in text, needed


# -- the generated API reference -------------------------------------------------------------

def _docs_api():
    spec = importlib.util.spec_from_file_location("docs_api", ROOT / "scripts" / "docs_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages():
    return dict(_docs_api().pages())


def test_every_bundled_method_and_exchange_has_its_section(pages):
    api = _docs_api()
    deployment = api.bundled_deployment()
    for name in api.class_names(deployment):  # the script's one place that reads tcdyn
        model = api.reference_model(deployment, name)
        page = pages[f"reference/{api._page_name(model.serviceName)}.md"]
        cls = getattr(deployment, name)
        for entry_name in model.entries:
            section = page.split(f"\n### {entry_name}\n", 1)
            assert len(section) == 2, f"{name}.{entry_name} has no section"
            sig = inspect.signature(getattr(cls, entry_name))
            shown = sig.replace(parameters=list(sig.parameters.values())[1:],
                                return_annotation=sig.empty)
            assert f"`{name}.{entry_name}{shown}`" in section[1].split("\n### ")[0]


def test_method_section_has_route_scopes_outline_and_schema_links(pages):
    queue = pages["reference/queue.md"]
    section = queue.split("\n### createTask\n", 1)[1].split("\n### ")[0]
    assert "`PUT /task/<taskId>` · stability: **stable**" in section
    assert "queue:create-task:project:<projectId>" in section            # scopes
    assert "created: string (date-time) (required)" in section           # input outline
    assert "(../../references/schemas/queue/v1/create-task-request.json)" in section
    assert "(../../references/schemas/queue/v1/task-status-response.json)" in section
    for target in re.findall(r"\]\((\.\./\.\./references/[^)]+)\)", queue):
        assert (ROOT / "docs" / "reference" / target).resolve().is_file(), target


def test_exchange_section_lists_routing_key_fields(pages):
    section = pages["reference/queue.md"].split("\n### taskCompleted\n", 1)[1]
    section = section.split("\n### ")[0]
    assert "Exchange `exchange/taskcluster-queue/v1/task-completed`" in section
    assert "| `taskGroupId` | required |" in section
    assert "| `reserved` | multiple words |" in section


def test_reference_text_cannot_become_html_or_headings():
    markdown = _docs_api().markdown
    assert markdown("scope `queue:<x>` for <taskId> & <script>") == \
        "scope `queue:<x>` for &lt;taskId&gt; &amp; &lt;script&gt;"
    assert markdown("## Storage types\ntext") == "**Storage types**\ntext"


def test_library_pages_name_importable_objects(pages):
    import importlib

    for path, text in pages.items():
        if not path.startswith("library/"):
            continue
        for target in re.findall(r"^\.\. auto\w+:: (\S+)", text, re.M):
            module, _, name = target.rpartition(".")
            try:
                importlib.import_module(target)
            except ImportError:
                assert hasattr(importlib.import_module(module), name), target
    assert "tcdyn.testing.server.LocalDeployment" in pages["library/testing.md"]
    assert "tcdyn.pulse.Consumer" in pages["library/pulse.md"]
    # the library the guides name has its pages too
    assert "automodule:: tcdyn.scopes" in pages["library/credentials.md"]
    assert "tcdyn.references.diff" in pages["library/references.md"]
    assert "automodule:: tcdyn.workflow.actions" in pages["library/workflows.md"]
    assert "tcdyn.timeline" in pages["library/workflows.md"]
    assert "automodule:: tcdyn.helper" in pages["library/helper.md"]
    assert tcdyn.__version__
