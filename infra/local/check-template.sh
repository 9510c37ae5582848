#!/usr/bin/env bash
# Checks template.yaml offline: `sam validate --lint` (the SAM transform, then cfn-lint on the
# result), cfn-lint on the template as written, and checkov's CloudFormation checks. A checkov
# failure fails the run; every skipped check is justified next to its resource in the template
# (Metadata.checkov.skip[].comment).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HUB_ROOT"

bin="$HUB_LINT_VENV/bin"
[ -x "$bin/sam" ] || die "aws-sam-cli is missing; run infra/local/install.sh"
export SAM_CLI_TELEMETRY=0

timed sam-validate "$bin/sam" validate --lint --template template.yaml --region us-east-1
timed cfn-lint "$bin/cfn-lint" template.yaml
timed checkov "$bin/checkov" --file template.yaml --framework cloudformation --compact --quiet \
  --skip-download
