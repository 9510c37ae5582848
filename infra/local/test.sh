#!/usr/bin/env bash
# The test command: sets up whatever is missing, starts the local stack (embedded Kafka, moto,
# DynamoDB Local, the local S/4 on SAP CAP) if it is not running, then runs every check and test:
#   the bridge's container image, formatting, clippy (-D warnings), the SDK-free check of the
#   domain crates, the template checks (sam validate --lint, cfn-lint, checkov), the links of the
#   docs (README.md, docs/), unit tests, doctests and the integration tests against the stack.
# Stops at the end whatever it started. `.ci/run` calls this and nothing else.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

# Crates that must stay free of AWS SDK, Kafka client and Lambda runtime dependencies (STYLE §1):
# every crate but the adapters (hub-aws, hub-kafka), the local stack (hub-local), the binaries
# and the Lambdas. hub-sync included.
DOMAIN_CRATES=(hub-core hub-template hub-model hub-sap hub-store hub-sync hub-bridge hub-enrich hub-redrive hub-reconcile hub-telemetry)
# What they may not depend on, by exact crate name. The decision on Lambda's event types:
# `aws_lambda_events` is allowed. It holds plain serde structs of the events Lambda passes (an
# SQS batch, its partial-batch response), makes no call and pulls in no SDK; hub-sync reads and
# answers SQS batches with them, so the batch logic is tested without a runtime or a stand-in.
SDK_CRATES='^(aws-config|aws-sdk-[a-z0-9]+|aws-smithy-[a-z0-9-]+|aws-sigv4|aws-types|aws-runtime|aws-credential-types|rdkafka|rdkafka-sys|lambda_runtime|lambda_runtime_api_client|hyper-rustls) v'

started_here=()
cleanup() {
  local rc=$?
  if [ -n "${install_pid:-}" ]; then
    kill "$install_pid" 2>/dev/null || true
  fi
  if [ ${#started_here[@]} -gt 0 ]; then
    infra/local/stack.sh stop || true
  fi
  exit $rc
}
trap cleanup EXIT

# What the build needs first (apt), then the rest (PyPI, npm: downloads and unpacking) beside the
# build; its log is printed when it is waited for, before the stack starts.
timed install-build infra/local/install.sh build
mkdir -p "$HUB_RUN"
install_started=$(date +%s)
infra/local/install.sh services >"$HUB_RUN/install.log" 2>&1 &
install_pid=$!

# A cold target/ takes about 5 GB (line tables only, see Cargo.toml's dev profile). On CI the
# build is cold by definition, so incremental state (another 5 GB, and slower) is not written.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0
fi
# KiB to GiB with one decimal.
gib() { awk '{ printf "%.1f", $1 / 1048576 }'; }
disk_report() {
  local free_kib target
  free_kib=$(df -Pk "$HUB_ROOT" | awk 'NR == 2 { print $4 }')
  target=$(du -sk "$HUB_ROOT/target" 2>/dev/null | awk '{ print $1 }' || true)
  log "disk ($1): $(gib <<<"$free_kib") GiB free, target/ $(gib <<<"${target:-0}") GiB"
  if [ "$free_kib" -lt $((6 * 1048576)) ]; then
    log "warning: under 6 GiB free; a cold build and the stack need about 6 GiB"
  fi
}
disk_report "before the build"

timed build cargo build --locked --workspace --all-targets
disk_report "after the build"

if ! wait "$install_pid"; then
  cat "$HUB_RUN/install.log" >&2
  die "infra/local/install.sh services failed (log above)"
fi
cat "$HUB_RUN/install.log" >&2
log "install (beside the build) took $(($(date +%s) - install_started)) s"

# The long-running bridge's container image (FROM scratch, non-root), from the binary just built;
# prints its size. The shipping build is `infra/container/build.sh` (profile `container`).
timed container infra/container/build.sh --profile dev

stack_running() {
  http_up "$MOTO_PORT" && http_up "$DYNAMODB_PORT" && http_up "$S4_PORT" && [ -s "$HUB_RUN/kafka.bootstrap" ]
}
if ! stack_running; then
  started_here+=(stack)
fi
timed stack infra/local/stack.sh start
# shellcheck disable=SC1091
source "$HUB_RUN/env"

timed fmt cargo fmt --all -- --check

timed clippy cargo clippy --locked --workspace --all-targets -- -D warnings

check_domain_crates() {
  local c bad
  for c in "${DOMAIN_CRATES[@]}"; do
    bad=$(cargo tree --locked -p "$c" -e normal --prefix none | grep -E "$SDK_CRATES" | sort -u || true)
    if [ -n "$bad" ]; then
      die "domain crate $c depends on an SDK: $bad"
    fi
  done
  log "domain crates are SDK-free: ${DOMAIN_CRATES[*]}"
}
timed sdk-free check_domain_crates

timed template infra/local/check-template.sh

timed links python3 infra/local/check-links.py

# The tests. cargo-nextest (the machine's, or none) runs every binary's tests on one pool (see
# .config/nextest.toml). hub-bench's run first and alone (they measure CPU time), then the
# doctests, which nextest does not run, then all the others. That order keeps the build whole:
# tests/lambda_emulator.rs builds Lambda packages under `cargo lambda watch`, whose build
# environment differs, so ring's build script and everything above it (rustls, hub-aws, the
# Lambdas) are rebuilt in the shared target/, and a cargo command after it rebuilds them back
# (70 s on CI). Without nextest, `cargo test` runs the same tests.
if cargo nextest --version >/dev/null 2>&1; then
  # Filters (-E), not --exclude/-p: every run selects the whole workspace, so features resolve
  # as in the build above and nothing is compiled again.
  timed test-bench cargo nextest run --locked --workspace -E 'package(hub-bench)' \
    --test-threads 1 --no-tests=fail
  timed doctests cargo test --locked --workspace --doc
  timed test cargo nextest run --locked --workspace -E 'not package(hub-bench)' --no-tests=fail
else
  log "cargo-nextest not found: the tests run under cargo test, one binary after another"
  timed test cargo test --locked --workspace
fi

disk_report "after the tests"
