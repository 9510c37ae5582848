#!/usr/bin/env bash
# `sam build` of every function of template.yaml, offline, on this machine: cargo-lambda and zig
# from .local/venv, the SAM CLI from .local/lint-venv (infra/local/install.sh installs them).
# Builds arm64 when the aarch64 standard library is installed, x86_64 otherwise, and checks that
# every function got its `bootstrap`. Extra arguments go to `sam build`.
# Not part of CI: a full release build (fat LTO) does not fit its time budget.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

[ -x "$HUB_LINT_VENV/bin/sam" ] && [ -x "$HUB_VENV/bin/cargo-lambda" ] \
  || die "the SAM CLI or cargo-lambda is missing; run infra/local/install.sh"
export PATH="$HUB_VENV/bin:$HUB_LINT_VENV/bin:$PATH" SAM_CLI_TELEMETRY=0

arch=x86_64
if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  arch=arm64
else
  log "no aarch64 standard library (rustup target add aarch64-unknown-linux-gnu): building x86_64"
fi

# A placeholder broker, so that the bridge Lambda (deployed only with brokers) is built too.
timed sam-build sam build --parameter-overrides "Architecture=$arch" \
  "KafkaBootstrapServers=build-check:9092" "$@"

missing=()
for fn in $(sed -n 's/^  \([A-Za-z]*\):$/\1/p' template.yaml); do
  if grep -A1 "^  $fn:\$" template.yaml | grep -q 'AWS::Serverless::Function'; then
    if [ -x ".aws-sam/build/$fn/bootstrap" ]; then
      log "$fn: $(du -h ".aws-sam/build/$fn/bootstrap" | cut -f1) bootstrap"
    else
      missing+=("$fn")
    fi
  fi
done
[ ${#missing[@]} -eq 0 ] || die "no bootstrap for: ${missing[*]}"
