#!/usr/bin/env bash
# `cargo lambda watch` with the environment of a running `make dev` (its .local/<stack>/env: the
# table, the emulators' endpoints, the simulator), so that every function runs as it would in
# Lambda, invoked with `cargo lambda invoke -A 127.0.0.1 -P $WATCH_PORT --data-file ... <function>`.
set -euo pipefail
SMS_LOCAL_PORT=${SMS_LOCAL_PORT:-9000}
STACK_NAME=${STACK_NAME:-dev-$SMS_LOCAL_PORT}
WATCH_PORT=${WATCH_PORT:-9100}
. "$(dirname "$0")/stack.sh"
cd "$ROOT"
if [ ! -f "$STATE_DIR/env" ]; then
  say "no $STATE_DIR/env: start the stack first (make dev, SMS_LOCAL_PORT=$SMS_LOCAL_PORT)"
  exit 1
fi
install_tools
say "cargo lambda watch on 127.0.0.1:$WATCH_PORT with $STATE_DIR/env; sample events with this stack's ids: $STATE_DIR/events/"
exec "$ROOT/.venv/bin/cargo-lambda" lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --env-file "$STATE_DIR/env" "$@"
