# Shared helpers of the local-stack scripts. Sourced, not run.
# Everything the stack installs or writes lives in one git-ignored folder, .local/ at the repository
# root: the Python virtualenv (moto), DynamoDB Local (npm), logs, pid files and the endpoint file.

HUB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HUB_LOCAL="${HUB_LOCAL_DIR:-$HUB_ROOT/.local}"
HUB_RUN="$HUB_LOCAL/run"
HUB_LOGS="$HUB_LOCAL/logs"
HUB_VENV="$HUB_LOCAL/venv"
# The template checkers (SAM CLI, cfn-lint, checkov) live in their own virtualenv: their pins
# (boto3, jsonschema…) do not mix with moto's.
HUB_LINT_VENV="$HUB_LOCAL/lint-venv"
SAM_CLI_VERSION="1.170.0"
CFN_LINT_VERSION="1.58.0"
CHECKOV_VERSION="3.2.459"
HUB_DDB_PREFIX="$HUB_LOCAL/dynamodb"
# The local S/4 (SAP CAP): its npm packages; the project itself is infra/local/s4.
HUB_S4_PREFIX="$HUB_LOCAL/s4"
HUB_S4_PROJECT="$HUB_ROOT/infra/local/s4"

# Pinned versions of the stand-ins.
MOTO_VERSION="5.2.5"
DYNAMODB_LOCAL_NPM_VERSION="10.3.0"
# The benchmark's Python baseline.
CONFLUENT_KAFKA_VERSION="2.16.1"

# Loopback ports; override when something else already listens there.
MOTO_PORT="${HUB_MOTO_PORT:-4566}"
DYNAMODB_PORT="${HUB_DYNAMODB_PORT:-8000}"
S4_PORT="${HUB_S4_PORT:-4004}"
HUB_BIND="127.0.0.1"

mkdir -p "$HUB_RUN" "$HUB_LOGS"

log() { printf '[hub] %s\n' "$*" >&2; }
die() { printf '[hub] error: %s\n' "$*" >&2; exit 1; }

# Runs a named step and prints how long it took (the figures go in the README and closing notes).
timed() {
  local name="$1"; shift
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  printf '[hub] step %-28s %6.1f s\n' "$name" "$(echo "$end - $start" | bc)" >&2
}

# True when something answers HTTP on the port (any status: DynamoDB Local answers 400 to GET /).
http_up() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$HUB_BIND:$1/" 2>/dev/null || true)
  [ -n "$code" ] && [ "$code" != "000" ]
}

tcp_up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

pid_alive() {
  local f="$HUB_RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Polls a check until it passes or the timeout (seconds) runs out.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      return 1
    fi
    sleep 0.2
  done
  log "$what is up"
}

# The environment every tool and test uses to reach the stack; also written to .local/run/env.
write_env_file() {
  local bootstrap="${KAFKA_BOOTSTRAP_SERVERS:-}"
  if [ -z "$bootstrap" ] && [ -f "$HUB_RUN/kafka.bootstrap" ]; then
    bootstrap=$(cat "$HUB_RUN/kafka.bootstrap")
  fi
  cat > "$HUB_RUN/env" <<ENV
export AWS_REGION=\${AWS_REGION:-us-east-1}
# The AWS CLI v1 reads only AWS_DEFAULT_REGION ("You must specify a region" without it).
export AWS_DEFAULT_REGION=\$AWS_REGION
export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-test}
export AWS_ENDPOINT_URL_SNS=http://$HUB_BIND:$MOTO_PORT
export AWS_ENDPOINT_URL_SQS=http://$HUB_BIND:$MOTO_PORT
export AWS_ENDPOINT_URL_DYNAMODB=http://$HUB_BIND:$DYNAMODB_PORT
export AWS_ENDPOINT_URL_S3=http://$HUB_BIND:$MOTO_PORT
export AWS_S3_FORCE_PATH_STYLE=true
export KAFKA_BOOTSTRAP_SERVERS=$bootstrap
# The local S/4 (SAP CAP): OData V2 under /sap/opu/odata/sap/, Basic logon hub / hub-local.
export HUB_S4_URL=http://$HUB_BIND:$S4_PORT
# The Python of the bench's baseline (confluent-kafka, boto3).
export HUB_PYTHON=$HUB_VENV/bin/python
ENV
}
