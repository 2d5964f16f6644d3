#!/usr/bin/env bash
# The README's `cargo lambda watch` + `cargo lambda invoke --data-file` path against the running
# local stack (started by scripts/test.sh: SMS_BASE_URL, SIM_URL, STACK_STATE_DIR): a new
# account as the README sets one up, the sample events rewritten with its ids, then one read
# route (accounts: GET /accounts/{account_id}) and one that calls TeleSign (outbound-send: an
# agent's reply) invoked through cargo lambda's runtime, whose deadline is relative.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
: "${SMS_BASE_URL:?run by scripts/test.sh}" "${SIM_URL:?run by scripts/test.sh}" "${STACK_STATE_DIR:?run by scripts/test.sh}"
WATCH_PORT=${TEST_WATCH_PORT:-19100}
CL="$ROOT/.venv/bin/cargo-lambda"
OUT="$STACK_STATE_DIR/cargo-lambda"
mkdir -p "$OUT"
passed=0
failed=0
check() { # what python-expression-over-answer answer
  if python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(a.get('body') or 'null'); sys.exit(0 if ($2) else 1)" "$3"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $1; the answer: $3" >&2
  fi
}

# An account of our own, as the README sets one up.
customer="WATCH-$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12].upper())')"
key=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
number="1425$(python3 -c 'import random; print(random.randrange(2000000, 10000000))')"
curl -fsS -X POST "$SIM_URL/_sim/customers" -d "{\"customer_id\":\"$customer\",\"api_key\":\"$key\"}" >/dev/null
SMS_TOKEN=$(curl -fsS -X POST "$SMS_BASE_URL/_local/tokens" -d '{"sub":"watch-operator","roles":["operator"]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
export SMS_TOKEN
account=$(curl -fsS -X POST "$SMS_BASE_URL/accounts" -H "authorization: Bearer $SMS_TOKEN" -d "{\"name\":\"Watch\",\"customer_id\":\"$customer\",
  \"api_key\":\"$key\",\"numbers\":[{\"number\":\"+$number\",\"type\":\"long_code\"}]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["account_id"])')
ids=$(python3 scripts/local_events.py --api "$SMS_BASE_URL" --sim "$SIM_URL" --account "$account" \
  --customer-id "$customer" --support "$number" --out "$OUT/events") || exit 1
conversation=$(printf '%s' "$ids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation_id"])')

# cargo lambda watch with the stack's environment, in a process group of its own to stop it whole,
# offline: it needs no download (its file watcher is built in; cargo builds from the lock file).
# cargo-lambda's own logs stay at its default (RUST_LOG is the stack's level, for the functions:
# the env file passes it to them); the invoke's answer is read from its standard output.
CARGO_NET_OFFLINE=true setsid env -u RUST_LOG "$CL" lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --env-file "$STACK_STATE_DIR/env" >"$STACK_STATE_DIR/cargo-lambda-watch.log" 2>&1 </dev/null &
watch=$!
trap 'kill -- -$watch 2>/dev/null' EXIT
for _ in $(seq 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$WATCH_PORT") 2>/dev/null && break
  sleep 0.1
done

invoke() { # event function
  timeout 600 env -u RUST_LOG "$CL" lambda invoke --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
    --data-file "$OUT/events/$1" "$2" 2>>"$STACK_STATE_DIR/cargo-lambda-invoke.log"
}
answer=$(invoke accounts-read.json accounts)
check "GET /accounts/{id} through cargo lambda answers 200 with the account" \
  "a.get('statusCode') == 200 and b['account_id'] == '$account' and 'api_key' not in b" "${answer:-{\}}"
answer=$(invoke reply.json outbound-send)
check "a reply through cargo lambda is sent to TeleSign: 202, queued, with TeleSign's reference" \
  "a.get('statusCode') == 202 and b['status'] == 'queued' and b['conversation_id'] == '$conversation' and b['telesign_reference_id']" "${answer:-{\}}"

if [ "$failed" -ne 0 ]; then
  echo "cargo lambda watch's log:" >&2
  tail -n 40 "$STACK_STATE_DIR/cargo-lambda-watch.log" >&2
fi
echo "cargo lambda watch + invoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
