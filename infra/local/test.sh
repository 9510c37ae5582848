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
  if [ ${#started_here[@]} -gt 0 ]; then
    infra/local/stack.sh stop || true
  fi
  exit $rc
}
trap cleanup EXIT

timed install infra/local/install.sh

timed build cargo build --locked --workspace --all-targets

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

timed test cargo test --locked --workspace
