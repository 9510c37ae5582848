#!/usr/bin/env bash
# The bench: `hub-bench bench` (optimised build) against the local stand-ins, hub vs the Python
# baseline. Installs what is missing, starts the stand-ins if they are not running (and stops
# what it started), writes docs/bench/bench.{md,json,png}. Extra arguments go to `hub-bench bench`
# (e.g. --records 200000 --e2e-keys 10); --out overrides the folder.
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
out=(--out docs/bench)
for a in "$@"; do [ "$a" = "--out" ] && out=(); done
timed bench target/release/hub-bench bench "${out[@]}" "$@"
