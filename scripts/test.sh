#!/usr/bin/env bash
# Install everything the tests need (venv, RabbitMQ), then lint and run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k pulse).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/rabbitmq.sh
export TCDYN_REQUIRE_BROKER=1  # the broker was just started: a Pulse test may not skip
.venv/bin/ruff check src tests bench examples scripts
exec .venv/bin/python -m pytest "$@"
