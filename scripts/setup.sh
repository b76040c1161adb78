#!/usr/bin/env bash
# Create .venv (if missing) and install tcdyn with its test tools into it, and fetch the
# official client's own tests (scripts/official_tests.py: tests/official runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,docs,release]' 2>&1 \
    | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import tcdyn" # fails loudly if the install did not work
.venv/bin/python scripts/official_tests.py >/dev/null
