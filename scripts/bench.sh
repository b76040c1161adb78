#!/usr/bin/env bash
# The benchmark command (issue 21): every benchmark with its peers in one run, one table,
# bench/results.json written (bench/README.md). Installs the `bench` extra (the official
# client 113.2.0) into the project's venv when it is missing and starts the broker of
# scripts/rabbitmq.sh (Pulse). Arguments go to bench/run.py: --quick, --only MODULE...,
# --json FILE, --render (the performance guide's table from the JSON). Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! .venv/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("taskcluster") != "113.2.0")' 2>/dev/null; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[bench]'
fi
case " $* " in
    *" --render "*) ;;
    *) bash scripts/rabbitmq.sh ;;
esac
exec .venv/bin/python bench/run.py "$@"
