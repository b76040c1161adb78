#!/usr/bin/env bash
# Build the documentation site into docs/_build/html: Sphinx with MyST Markdown, every warning
# an error (a broken link, anchor or reference, an object autodoc cannot import, a page left
# out of the navigation). The API reference is generated from the bundled references when the
# build starts (scripts/docs_api.py). Needs the docs extra: scripts/setup.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/_build/html}
exec .venv/bin/python -m sphinx -b html -W --keep-going -E -q -j 1 docs "$out"
