#!/usr/bin/env bash
# The main job: install tcdyn into .venv and tour it against an embedded local deployment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/tcdyn demo
