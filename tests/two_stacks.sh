#!/usr/bin/env bash
# Two `make dev` stacks on other ports in this one checkout run side by side, a third on the
# ports of the first refuses to start without touching it, and `make stop` stops each without
# stopping the other. Ports: TEST_PAIR_PORT and the next 4 (stack A), +10 to +14 (stack B).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BASE=${TEST_PAIR_PORT:-17100}
# Each stack starts its own simulator: nothing of the calling stack (make test's) is inherited.
unset TELESIGN_BASE_URL SIM_URL SMS_BASE_URL STACK_NAME STACK_STATE_DIR
passed=0
failed=0
check() { # what command...
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $what" >&2
  fi
}
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
down() { ! up "$1"; }
answers() { # port: the accounts route answers the stack's operator (its token is in its folder)
  curl -fsS -o /dev/null -H "authorization: Bearer $(cat ".local/dev-$1/operator.token" 2>/dev/null)" \
    "http://127.0.0.1:$1/accounts"
}
all_up() { up "$1" && up "$2" && up "$3" && answers "$4"; }
all_down() { # ports: every one closed within 15 s
  local i
  for i in $(seq 150); do
    down "$1" && down "$2" && down "$3" && down "$4" && return 0
    sleep 0.1
  done
  return 1
}
ports() { echo "DDB_PORT=$1 MOTO_PORT=$(($1 + 1)) SIM_PORT=$(($1 + 2)) SMS_LOCAL_PORT=$(($1 + 3)) DDB_PROXY_PORT=$(($1 + 4))"; }
A=$BASE
B=$((BASE + 10))
LOG="$ROOT/.local/two-stacks"
rm -rf "$LOG" && mkdir -p "$LOG"

start_dev() { # base log
  env $(ports "$1") make --no-print-directory dev >"$2" 2>&1 </dev/null &
}
wait_ready() { # log
  local i
  for i in $(seq 1800); do
    grep -qs '^ready:' "$1" && return 0
    sleep 0.1
  done
  echo "not ready within 180 s; its output:" >&2
  tail -n 30 "$1" >&2
  return 1
}
stop_dev() { env $(ports "$1") make --no-print-directory stop >/dev/null 2>&1; }
cleanup() {
  stop_dev "$A"
  stop_dev "$B"
}
trap cleanup EXIT

start_dev "$A" "$LOG/a.log"
check "stack A starts" wait_ready "$LOG/a.log"
start_dev "$B" "$LOG/b.log"
check "stack B starts beside A" wait_ready "$LOG/b.log"
check "A still runs after B started" all_up "$A" $((A + 1)) $((A + 2)) $((A + 3))
check "B runs" all_up "$B" $((B + 1)) $((B + 2)) $((B + 3))
check "each stack has its own folder" test -s "$ROOT/.local/dev-$((A + 3))/owner" -a -s "$ROOT/.local/dev-$((B + 3))/owner"

# The same stack again: refused, and the running one is untouched.
env $(ports "$A") make --no-print-directory dev >"$LOG/again.log" 2>&1 </dev/null
check "a second make dev on A's ports fails" test $? -ne 0
check "it says why" grep -q "already runs" "$LOG/again.log"
check "A still runs after the refused start" all_up "$A" $((A + 1)) $((A + 2)) $((A + 3))

stop_dev "$A"
check "make stop stops A" all_down "$A" $((A + 1)) $((A + 2)) $((A + 3))
check "B still runs after A stopped" all_up "$B" $((B + 1)) $((B + 2)) $((B + 3))
stop_dev "$B"
check "make stop stops B" all_down "$B" $((B + 1)) $((B + 2)) $((B + 3))
wait

echo "two stacks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
