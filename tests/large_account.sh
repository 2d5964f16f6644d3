#!/usr/bin/env bash
# One customer of an account of 100,000 items (tests/large_account.rs), against a `make dev` stack
# of its own on other ports: its DynamoDB Local keeps the table in memory, where the test stack's
# keeps it on disk (for the restart tests), so the 98,000 items it seeds take seconds there, and
# no other test scans them or waits behind them. Ports: TEST_LARGE_PORT and the next 4.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BASE=${TEST_LARGE_PORT:-17200}
unset TELESIGN_BASE_URL SIM_URL SMS_BASE_URL STACK_NAME STACK_STATE_DIR
ports="DDB_PORT=$BASE MOTO_PORT=$((BASE + 1)) SIM_PORT=$((BASE + 2)) SMS_LOCAL_PORT=$((BASE + 3)) DDB_PROXY_PORT=$((BASE + 4))"
LOG="$ROOT/.local/large-account.log"
mkdir -p "$ROOT/.local"
env $ports make --no-print-directory dev >"$LOG" 2>&1 </dev/null &
trap 'env $ports make --no-print-directory stop >/dev/null 2>&1' EXIT
for _ in $(seq 1800); do
  grep -qs '^ready:' "$LOG" && break
  sleep 0.1
done
if ! grep -qs '^ready:' "$LOG"; then
  echo "its stack was not ready within 180 s; its output:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
fi
STATE="$ROOT/.local/dev-$((BASE + 3))"
set -a
. "$STATE/env"
set +a
export SMS_BASE_URL="http://127.0.0.1:$((BASE + 3))" SIM_URL="http://127.0.0.1:$((BASE + 2))" \
  DDB_PROXY_URL="http://127.0.0.1:$((BASE + 4))" AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$BASE" \
  STACK_STATE_DIR="$STATE"
cargo nextest run -p channel-tests --test large_account --no-fail-fast --success-output final 2>&1 | grep -v '^{"Outcome"'
