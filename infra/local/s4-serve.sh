#!/usr/bin/env bash
# Serves the local S/4 (SAP CAP, infra/local/s4) on 127.0.0.1:<port>, in the foreground, with its
# data fresh from the CSV seed (in memory). stack.sh starts one on HUB_S4_PORT (4004); tests start
# their own, each with its Kafka topic.
#
#   infra/local/s4-serve.sh <port>
#
# Environment: KAFKA_BOOTSTRAP_SERVERS (where its thin events go; none: only logged),
# HUB_S4_EVENTS_TOPIC (default sap.s4.events), HUB_S4_SOURCE (the events' source).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
port="${1:?usage: s4-serve.sh <port>}"
[ -d "$HUB_S4_PROJECT/node_modules/@sap/cds" ] || die "SAP CAP is not installed: run infra/local/install.sh"
cd "$HUB_S4_PROJECT"
# Loopback only (srv/server.js reads the host); the V2 adapter forwards to the V4 service there.
export CDS_SERVER_HOST="$HUB_BIND"
export CDS_COV2AP_TARGET="http://$HUB_BIND:$port"
exec node node_modules/@sap/cds/bin/serve.js --port "$port"
