#!/usr/bin/env bash
# The reliability drills at full size (docs/reliability.md#the-drills): bridge crash, domain
# crash, outages, poison, failover. Each runs the hub as separate processes (`hubctl run --only
# bridge|domains`) on a Kafka of its own (the librdkafka mock cluster, whose fault injection it
# drives) and on the stand-ins behind fault proxies, and counts every change it produced with
# `hubctl reconcile`. Prints one summary table (Markdown) and writes the reports as JSON.
#
#   infra/local/drills.sh                          # every drill, full size (over an hour)
#   infra/local/drills.sh --only poison,failover   # some of them
#   infra/local/drills.sh --quick                  # small sizes (a few minutes): a smoke test
#   infra/local/drills.sh --only outages --services kafka,sns   # some services' outages only
#   infra/local/drills.sh --only poison --poison-records 3000   # the poison drill at another size
#   infra/local/drills.sh --json FILE              # where the JSON goes (default below)
#
# JSON: .local/drills/latest.json (and a copy named by date). The processes' logs (warnings of
# the outages, which are expected) go to .local/logs/drills.log. Exit status 0 when every drill
# holds, 1 when one fails. Starts the local stack if it is not running and stops what it started.
# Small versions of the same drills run in the test command (tests/drills.rs, tests/e2e.rs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

started_here=0
cleanup() {
  local rc=$?
  if [ "$started_here" = 1 ]; then infra/local/stack.sh stop || true; fi
  exit $rc
}
trap cleanup EXIT

[ -x "$HUB_VENV/bin/moto_server" ] || infra/local/install.sh
log "building hubctl and hub-drills"
cargo build --locked -q -p hubctl -p hub-integration-tests --bins

if ! { http_up "$MOTO_PORT" && http_up "$DYNAMODB_PORT" && [ -s "$HUB_RUN/kafka.bootstrap" ]; }; then
  started_here=1
fi
infra/local/stack.sh start
# shellcheck disable=SC1091
source "$HUB_RUN/env"
# Each drill has a Kafka of its own (it injects faults into it); the shared one is not used.
unset KAFKA_BOOTSTRAP_SERVERS

mkdir -p .local/drills
log "running the drills (logs: $HUB_LOGS/drills.log)"
set +e
target/debug/hub-drills "$@" 2> >(tee "$HUB_LOGS/drills.log" | grep --line-buffered '^hub-drills:' >&2)
rc=$?
set -e
if [ -s .local/drills/latest.json ]; then
  cp .local/drills/latest.json ".local/drills/drills-$(date -u +%Y%m%dT%H%M%SZ).json"
fi
exit $rc
