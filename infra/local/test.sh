#!/usr/bin/env bash
# The test command: sets up whatever is missing, starts the local stack (embedded Kafka, moto,
# DynamoDB Local) if it is not running, then runs every check and test:
#   formatting, clippy (-D warnings), the SDK-free check of the domain crates, the template
#   checks (sam validate --lint, cfn-lint, checkov), unit tests, doctests and the integration
#   tests against the stack.
# Stops at the end whatever it started. `.ci/run` calls this and nothing else.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

# Crates that must stay free of AWS SDK and Kafka dependencies (STYLE §1).
DOMAIN_CRATES=(hub-core hub-template hub-model hub-sap hub-store hub-bridge hub-redrive)

started_here=()
cleanup() {
  local rc=$?
  if [ ${#started_here[@]} -gt 0 ]; then
    infra/local/stack.sh stop || true
  fi
  exit $rc
}
trap cleanup EXIT

timed install infra/local/install.sh

timed build cargo build --locked --workspace --all-targets

stack_running() {
  http_up "$MOTO_PORT" && http_up "$DYNAMODB_PORT" && [ -s "$HUB_RUN/kafka.bootstrap" ]
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
    bad=$(cargo tree --locked -p "$c" -e normal --prefix none | grep -E '^(aws-|rdkafka|lambda_runtime)' || true)
    if [ -n "$bad" ]; then
      die "domain crate $c depends on an SDK: $bad"
    fi
  done
  log "domain crates are SDK-free: ${DOMAIN_CRATES[*]}"
}
timed sdk-free check_domain_crates

# What the Lambdas link carries no development tooling: the local provisioner and event source
# mappings (hub-local) and the template reader stay out of the adapters and of every Lambda's
# production build.
check_runtime_crates() {
  local c bad
  for c in hub-aws domain-sync kafka-bridge dlq-redrive; do
    bad=$(cargo tree --locked -p "$c" -e normal --prefix none | grep -E '^(hub-local|hub-template) ' || true)
    if [ -n "$bad" ]; then
      die "runtime crate $c depends on development tooling: $bad"
    fi
  done
  log "runtime crates carry no development tooling"
}
timed tooling-free check_runtime_crates

timed template infra/local/check-template.sh

timed test cargo test --locked --workspace
