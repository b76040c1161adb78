#!/usr/bin/env bash
# Install everything the tests need (venv, RabbitMQ, Chromium), lint, build the documentation site
# (warnings are errors), build the wheel and try it outside the checkout, run the unit suite,
# then run the unit suite on the other supported Pythons (scripts/pythons.sh: 3.12, 3.13)
# while the real Taskcluster stack comes up (scripts/taskcluster.sh up), and run the
# conformance suite (tests/real) against it. Extra arguments go to every pytest run (e.g.
# scripts/test.sh -k pulse). TCDYN_SKIP_REAL=1 stops after the unit suites.
set -euo pipefail
cd "$(dirname "$0")/.."
took() { echo "test.sh: $1 in $((SECONDS - $2))s" >&2; }
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
start=$SECONDS
bash scripts/docs.sh
took "documentation site built" "$start"
start=$SECONDS
bash scripts/wheel_smoke.sh
took "wheel built and tried outside the checkout" "$start"
start=$SECONDS
.venv/bin/python -m pytest --ignore=tests/real "$@"
took "unit suite (Python $(.venv/bin/python -c 'import platform; print(platform.python_version())'))" "$start"
if [ "${TCDYN_SKIP_REAL:-0}" = 1 ]; then
    start=$SECONDS
    bash scripts/pythons.sh "$@"
    took "unit suites on the other Pythons" "$start"
    echo "test.sh: TCDYN_SKIP_REAL=1: not running tests/real" >&2
    exit 0
fi
# The other Pythons' suites run while the stack comes up (mostly waiting on its services),
# in their own process group so that an interrupt stops them too; their output follows.
log=$(mktemp)
start=$SECONDS
setsid -w bash scripts/pythons.sh "$@" > "$log" 2>&1 &
pythons=$!
trap 'kill -- -"$pythons" 2>/dev/null || true; rm -f "$log"' INT TERM
up=0
bash scripts/taskcluster.sh up || up=$?
took "Taskcluster stack ready" "$start"
other=0
wait "$pythons" || other=$?
trap - INT TERM
echo "test.sh: the unit suites on the other Pythons (run while the stack came up):" >&2
cat "$log"
rm -f "$log"
took "unit suites on the other Pythons done" "$start"
if [ "$up" != 0 ] || [ "$other" != 0 ]; then
    echo "test.sh: FAILED: $([ "$up" != 0 ] && echo "the stack did not come up (exit $up)")" \
         "$([ "$other" != 0 ] && echo "a unit suite on another Python failed")" >&2
    exit 1
fi
export TCDYN_REQUIRE_STACK=1  # the stack was just started: a real test may not skip
rc=0
start=$SECONDS
.venv/bin/python -m pytest tests/real "$@" || rc=$?
took "real suite" "$start"
if [ "$rc" = 5 ]; then  # the extra arguments selected none of the real tests
    rc=0
fi
exit "$rc"
