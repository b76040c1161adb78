"""Sphinx configuration of the documentation site: ``bash scripts/docs.sh`` builds it.

Pages are Markdown (MyST). When a build starts, ``scripts/docs_api.py`` writes the generated
pages (``reference/`` from the bundled references, ``library/`` for autodoc) under docs/.
Why Sphinx and how the site is made: about.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import tcdyn  # noqa: E402  (the installed tcdyn, as users have it: ``pip install -e .``)

project = "tcdyn"
author = "tcdyn's authors"
copyright = "tcdyn's authors; Taskcluster's references: Mozilla, MPL-2.0"
release = version = tcdyn.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx_copybutton"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Links to a heading of another page (``readme.md#using-it``) are checked like any link.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Docstrings are read as they are written: signatures keep their annotations, members keep
# the order of the source.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": False}

html_theme = "furo"
html_title = f"tcdyn {release}"
copybutton_prompt_text = "$ "


def _generate(app: object) -> None:
    spec = importlib.util.spec_from_file_location("docs_api", ROOT / "scripts" / "docs_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_api"] = module
    spec.loader.exec_module(module)
    module.write(ROOT / "docs")


def setup(app: object) -> None:
    app.connect("builder-inited", _generate)  # type: ignore[attr-defined]
