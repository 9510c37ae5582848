#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a number of executions and prints, per target, the
# executions, the time, the corpus size and whether it crashed; writes the same as JSON to
# fuzz/runs/<target>.json and, for the whole run, fuzz/runs/latest.json. Installs what is missing: the nightly toolchain (rustup) and cargo-fuzz
# (crates.io). Not part of the test command: CI replays the corpus on stable instead
# (crates/hub-sap/tests/fuzz_corpus.rs, crates/hub-redrive/tests/fuzz_corpus.rs).
#
#   infra/local/fuzz.sh                       # every target, 10 million executions each
#   infra/local/fuzz.sh --runs 100000 idoc    # one target, fewer executions
#
# New inputs libFuzzer finds go to fuzz/runs/corpus/<target>/ (git-ignored; the seed corpus in
# fuzz/corpus/ is read, never written); a crash goes to fuzz/artifacts/<target>/, and the script
# exits 1. Commit a crash input to fuzz/artifacts/ and the replay tests turn it into a regression
# test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

runs=10000000
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^hub-sap-fuzz$')
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  log "installing the nightly toolchain (cargo-fuzz needs -Z sanitizer flags)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz from crates.io"
  cargo install --locked cargo-fuzz
fi

mkdir -p fuzz/runs
results=()
failed=0
for t in "${targets[@]}"; do
  work="fuzz/runs/corpus/$t"
  mkdir -p "$work" "fuzz/artifacts/$t"
  log "fuzzing $t for $runs executions"
  start=$(date +%s)
  set +e
  (cd fuzz && cargo +nightly fuzz run "$t" "runs/corpus/$t" "corpus/$t" -- \
      -runs="$runs" -print_final_stats=1 -artifact_prefix="artifacts/$t/") \
      >"fuzz/runs/$t.log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz/runs/$t.log" | tail -1)
  seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
  found=$(find "$work" -type f | wc -l)
  crashed=false
  if [ "$rc" -ne 0 ]; then crashed=true; failed=1; fi
  printf '%-16s %12s executions in %5s s, corpus %s seeds + %s found, crashed: %s\n' \
    "$t" "${execs:-?}" "$secs" "$seeds" "$found" "$crashed"
  result="{\"target\":\"$t\",\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"executions\":${execs:-0},\"seconds\":$secs,\"seed_corpus\":$seeds,\"found_corpus\":$found,\"crashed\":$crashed}"
  printf '%s\n' "$result" > "fuzz/runs/$t.json"
  results+=("$result")
done
{
  printf '{"date":"%s","runs_asked":%s,"targets":[' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$runs"
  (IFS=,; printf '%s' "${results[*]}")
  printf ']}\n'
} > fuzz/runs/latest.json
log "figures in fuzz/runs/latest.json, logs in fuzz/runs/<target>.log"
exit $failed
