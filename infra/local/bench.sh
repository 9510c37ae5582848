#!/usr/bin/env bash
# The bench: `hub-bench bench` (optimised build) against the local stand-ins: the hub against
# the Python baselines (naive and competent), the batching windows, where the time goes, and the
# functions' cold start and size (release builds), and the S/4 enricher (hub-bench enrich). Installs what is missing, starts the stand-ins
# if they are not running (and stops what it started), writes docs/bench/bench.{md,json,png} and
# windows.png. Extra arguments go to `hub-bench bench` (e.g. --records 200000 --e2e-keys 10);
# --out overrides the folder.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

started=0
cleanup() {
  local rc=$?
  [ "$started" -eq 1 ] && infra/local/stack.sh stop || true
  exit $rc
}
trap cleanup EXIT

timed install infra/local/install.sh
if ! { http_up "$MOTO_PORT" && http_up "$DYNAMODB_PORT"; }; then
  started=1
fi
timed stack infra/local/stack.sh start
# shellcheck disable=SC1091
source "$HUB_RUN/env"
# The bench profile: release with debug info (for perf); cargo puts it in target/release.
timed build cargo build --locked --profile bench -p hub-bench
# The functions as they deploy (release: fat LTO, stripped) and the hello-world peer, for their
# cold start and size.
timed build-functions cargo build --locked --release -p domain-sync -p kafka-bridge \
  -p dlq-redrive -p change-stream -p hello-lambda --bins
out=(--out docs/bench)
for a in "$@"; do [ "$a" = "--out" ] && out=(); done
timed bench target/release/hub-bench bench "${out[@]}" "$@"
# The S/4 enricher against the local S/4 (SAP CAP): S/4 requests per event, added latency.
timed bench-enrich target/release/hub-bench enrich --out docs/bench/enrich.md
