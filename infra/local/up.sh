#!/usr/bin/env bash
# The main job: sets up whatever is missing, starts the local stack (embedded Kafka, moto,
# DynamoDB Local, the local S/4 on SAP CAP), provisions template.yaml on it and runs the hub's
# services, the S/4 enricher reading the local S/4 among them, until Ctrl-C, printing a status
# line every few seconds. Stops at the end whatever it started. With --seed, the fixtures go to
# Kafka and one business partner changes in the local S/4 (its thin event comes back whole).
#
# Extra arguments go to `hubctl run` (e.g. --status-interval 5).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

started_here=0
cleanup() {
  local rc=$?
  if [ $started_here -eq 1 ]; then
    infra/local/stack.sh stop || true
  fi
  exit $rc
}
trap cleanup EXIT

timed install infra/local/install.sh
timed build cargo build --locked -p hubctl -p kafka-bridge --bins
if ! { http_up "$MOTO_PORT" && http_up "$DYNAMODB_PORT" && http_up "$S4_PORT" && [ -s "$HUB_RUN/kafka.bootstrap" ]; }; then
  started_here=1
fi
timed stack infra/local/stack.sh start
# shellcheck disable=SC1091
source "$HUB_RUN/env"
log "Kafka bootstrap: ${KAFKA_BOOTSTRAP_SERVERS} (produce with: kcat -b ${KAFKA_BOOTSTRAP_SERVERS} -t sap.idoc.matmas -P FILE)"
target/debug/hubctl run --s4 "$HUB_S4_URL" "$@"
