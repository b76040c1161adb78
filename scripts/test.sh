#!/usr/bin/env bash
# Install everything the tests need (venv, RabbitMQ, Chromium), lint, run the unit suite, then
# bring up the real Taskcluster stack (scripts/taskcluster.sh up) and run the conformance
# suite (tests/real) against it. Extra arguments go to both pytest runs (e.g. scripts/test.sh -k
# pulse). TCDYN_SKIP_REAL=1 stops after the unit suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/rabbitmq.sh
# A real headless Chromium renders tcdyn group timeline's page (tests/test_timeline.py).
if ! command -v chromium >/dev/null 2>&1; then
    echo "test.sh: installing chromium (Debian's package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/tmp/tcdyn-chromium-apt.log 2>&1 || {
        apt-get update -q >>/tmp/tcdyn-chromium-apt.log 2>&1
        apt-get install -y -q chromium >>/tmp/tcdyn-chromium-apt.log 2>&1 || {
            cat /tmp/tcdyn-chromium-apt.log >&2; exit 1; }
    }
fi
export TCDYN_REQUIRE_BROKER=1  # the broker was just started: a Pulse test may not skip
.venv/bin/ruff check src tests bench examples scripts
.venv/bin/python -m pytest --ignore=tests/real "$@"
if [ "${TCDYN_SKIP_REAL:-0}" = 1 ]; then
    echo "test.sh: TCDYN_SKIP_REAL=1: not running tests/real" >&2
    exit 0
fi
start=$SECONDS
bash scripts/taskcluster.sh up
echo "test.sh: Taskcluster stack ready in $((SECONDS - start))s" >&2
export TCDYN_REQUIRE_STACK=1  # the stack was just started: a real test may not skip
rc=0
.venv/bin/python -m pytest tests/real "$@" || rc=$?
if [ "$rc" = 5 ]; then  # the extra arguments selected none of the real tests
    rc=0
fi
exit "$rc"
