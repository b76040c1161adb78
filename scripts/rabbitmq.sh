#!/usr/bin/env bash
# Install (from Debian's packages) and start a local RabbitMQ for tcdyn's Pulse tests.
#
# Idempotent: installs only when missing, starts only when not running, and (re)creates the
# test users every time. No systemd: the server is started detached and awaited.
#
# Users (vhost "/", as on Pulse):
#   tcdyn / tcdyn-pass         Pulse-like: configures/writes only queue/tcdyn/* and
#                              exchange/tcdyn/*, reads every exchange/* (to bind).
#   tcdyn-admin / tcdyn-admin-pass  full rights: the tests' publisher, and the "Pulse" that
#                              deletes queues from outside.
# Environment: TCDYN_RABBITMQ_TIMEOUT (seconds to wait for startup, default 90).
set -euo pipefail

timeout="${TCDYN_RABBITMQ_TIMEOUT:-90}"
log() { echo "rabbitmq.sh: $*" >&2; }

export DEBIAN_FRONTEND=noninteractive
if ! command -v rabbitmq-server >/dev/null 2>&1; then
    log "installing rabbitmq-server"
    if ! apt-get install -y -q rabbitmq-server >/tmp/tcdyn-rabbitmq-apt.log 2>&1; then
        log "install failed with the current package lists; running apt-get update"
        apt-get update -q >/tmp/tcdyn-rabbitmq-apt.log 2>&1
        apt-get install -y -q rabbitmq-server >>/tmp/tcdyn-rabbitmq-apt.log 2>&1 || {
            cat /tmp/tcdyn-rabbitmq-apt.log >&2; exit 1; }
    fi
fi

started=0
if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    log "node already running"
    # A test may have left the app stopped (stop_app); start_app is a no-op otherwise.
    rabbitmqctl -q start_app >/dev/null 2>&1 || true
else
    log "starting rabbitmq-server (detached)"
    mkdir -p /var/log/rabbitmq /var/lib/rabbitmq
    chown rabbitmq:rabbitmq /var/log/rabbitmq /var/lib/rabbitmq 2>/dev/null || true
    # The Debian wrapper switches to the rabbitmq user when run as root.
    rabbitmq-server -detached >/dev/null 2>&1 || true
    started=1
fi

# Wait for the node to answer, then for the app to finish booting.
deadline=$((SECONDS + timeout))
until rabbitmq-diagnostics -q ping >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
        log "RabbitMQ node did not come up within ${timeout}s; see /var/log/rabbitmq/"
        exit 1
    fi
    sleep 0.5
done
if ! rabbitmqctl -q --timeout "$timeout" await_startup >/dev/null; then
    log "RabbitMQ did not finish booting within ${timeout}s; see /var/log/rabbitmq/"
    exit 1
fi
((started)) && log "started"

ensure_user() {  # name password
    if rabbitmqctl -q list_users | awk '{print $1}' | grep -qx "$1"; then
        rabbitmqctl -q change_password "$1" "$2" >/dev/null
    else
        rabbitmqctl -q add_user "$1" "$2" >/dev/null
    fi
}
ensure_user tcdyn tcdyn-pass
rabbitmqctl -q set_permissions -p / tcdyn \
    '^(queue/tcdyn/.*|exchange/tcdyn/.*)$' \
    '^(queue/tcdyn/.*|exchange/tcdyn/.*)$' \
    '^(queue/tcdyn/.*|exchange/.*)$' >/dev/null
ensure_user tcdyn-admin tcdyn-admin-pass
rabbitmqctl -q set_user_tags tcdyn-admin administrator >/dev/null
rabbitmqctl -q set_permissions -p / tcdyn-admin '.*' '.*' '.*' >/dev/null
# Fixed passwords of a local test broker (not secrets): say them, so the URLs can be copied.
log "ready: amqp://tcdyn:tcdyn-pass@localhost:5672/ (Pulse-like) and amqp://tcdyn-admin:tcdyn-admin-pass@localhost:5672/ (admin)"
