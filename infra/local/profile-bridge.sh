#!/usr/bin/env bash
# Where the bridge's CPU goes: `hub-bench bench --bridge-only` (optimised build, the fixture mix into
# the fast local SNS endpoint) profiled with perf, call graphs from DWARF, from the first
# bridging run to the end (producing the load is left out); then `hub-bench profile-report`: the
# share of each part of the bridge (IDoc parsing, serialising, the PublishBatch body, SigV4's
# SHA-256, HTTP, Kafka…) and its µs per event, what the innermost frames are in (allocator,
# kernel, memory copies), and the busiest functions.
#
# Needs perf (Debian: linux-perf, installed here when missing) and the right to profile one's own
# processes (root, or kernel.perf_event_paranoid at 2 or less). No stand-ins needed.
# Extra arguments go to `hub-bench bench` (default: --records 100000 --bridge-runs 3).
# Writes target/bench/profile.md (the report), bridge.json (the profiled runs' figures) and
# bridge.perf.data.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

if ! command -v perf >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing perf (linux-perf)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends linux-perf \
    >/dev/null || die "apt-get could not install linux-perf"
fi

# The bench profile: release with line tables (perf names inlined frames); in target/release.
timed build cargo build --locked --profile bench -p hub-bench

out=target/bench
mkdir -p "$out"
bench_log="$out/profile-bench.log"
data="$out/bridge.perf.data"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--records 100000 --bridge-runs 3)

target/release/hub-bench bench --bridge-only --out "$out" "${args[@]}" >"$bench_log" 2>&1 &
bench=$!
# Whatever fails below, the bench and its children (the embedded Kafka, the fake SNS) do not
# outlive the script.
trap 'pkill -P "$bench" 2>/dev/null; kill "$bench" 2>/dev/null || true' EXIT
# Profile from the first bridging run on: producing the load is not the bridge's work.
until grep -q "bench: bridging" "$bench_log"; do
  kill -0 "$bench" 2>/dev/null || { cat "$bench_log" >&2; die "the bench ended before bridging"; }
  sleep 0.1
done
log "profiling the bench (pid $bench) until it ends"
# perf stops when the profiled process ends.
if ! perf record -q -F 299 --call-graph dwarf,32768 -p "$bench" -o "$data"; then
  kill -0 "$bench" 2>/dev/null \
    || die "the bench ended before perf could attach: give it more --records"
  die "perf could not profile the bench (its message above; kernel.perf_event_paranoid?)"
fi
wait "$bench" || { cat "$bench_log" >&2; die "the bench failed"; }
trap - EXIT
grep -E "per core|CPU s per" "$bench_log" >&2 || true

perf script -i "$data" -F comm,tid,ip,sym,dso 2>/dev/null \
  | target/release/hub-bench profile-report --bench-json "$out/bridge.json" >"$out/profile.md"
cat "$out/profile.md"
log "written: $out/profile.md"
