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
  "KafkaBootstrapServers=build-check:9092" "KafkaAuth=none" "$@"

# SAM builds a binary shared by several functions once (`<First>-Shared`): check what the built
# template points at.
built=.aws-sam/build/template.yaml
missing=()
count=0
for dir in $(sed -n 's/^ *CodeUri: *//p' "$built" | sort -u); do
  count=$((count + 1))
  if [ -x ".aws-sam/build/$dir/bootstrap" ]; then
    log "$dir: $(du -h ".aws-sam/build/$dir/bootstrap" | cut -f1) bootstrap"
  else
    missing+=("$dir")
  fi
done
[ ${#missing[@]} -eq 0 ] || die "no bootstrap for: ${missing[*]}"
log "$(grep -c 'Type: AWS::Serverless::Function' "$built") functions, $count builds, every bootstrap present"
