#!/usr/bin/env bash
# Stops one running `make dev` (the stack on SMS_LOCAL_PORT, default 9000, or STACK_NAME) from
# another shell: its own processes only, never another stack's.
set -euo pipefail
SMS_LOCAL_PORT=${SMS_LOCAL_PORT:-9000}
STACK_NAME=${STACK_NAME:-dev-$SMS_LOCAL_PORT}
. "$(dirname "$0")/stack.sh"

owner=$(cat "$STATE_DIR/owner" 2>/dev/null || true)
if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
  # The stack's script stops its processes when it is told to stop.
  kill -TERM "$owner"
  for _ in $(seq 100); do
    kill -0 "$owner" 2>/dev/null || break
    sleep 0.1
  done
fi
# What a stack whose script died left behind.
stop_stack
say "stopped the stack $STACK_NAME"
