#!/usr/bin/env bash
# Real Taskcluster v106 services on loopback for tests/real: up | down | status.
# See scripts/taskcluster_stack.py for what it starts, where (TCDYN_STACK_DIR) and from what
# source (TASKCLUSTER_SRC).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v python3 >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv >/dev/null
fi
exec python3 "$here/taskcluster_stack.py" "$@"
