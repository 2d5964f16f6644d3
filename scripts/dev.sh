#!/usr/bin/env bash
# The whole channel on this machine: DynamoDB Local, the Secrets Manager emulator, the TeleSign
# simulator and every function behind the routes of template.yaml, on 127.0.0.1. Ctrl-C stops all.
set -euo pipefail
DDB_PORT=${DDB_PORT:-8000}
MOTO_PORT=${MOTO_PORT:-5000}
SIM_PORT=${SIM_PORT:-8787}
SMS_LOCAL_PORT=${SMS_LOCAL_PORT:-9000}
# Its folder: .local/dev-9000 (pids, logs, env file, sample events); another port, another folder.
STACK_NAME=${STACK_NAME:-dev-$SMS_LOCAL_PORT}
DDB_STORAGE="-inMemory"
. "$(dirname "$0")/stack.sh"

install_tools
build_stack
trap 'say "stopping"; kill $(jobs -p) 2>/dev/null || true; stop_stack; exit 0' INT TERM
trap 'stop_stack' EXIT
start_stack

# A demo TeleSign customer in the simulator and a messaging account for it, so that the stack can
# take a customer's text and send a reply straight away.
DEMO_CUSTOMER=DEMO0000-0000-4000-8000-000000000001
DEMO_KEY=ZGVtby1rZXktZm9yLXRoZS1sb2NhbC1zdGFjay0wMDAwMDA=
DEMO_NUMBER=${DEMO_NUMBER:-14255550100}
# An operator's token, minted by the gateway (it stands in for the identity provider locally).
mint() { # sub roles-json name: a token
  curl -fsS -X POST "$SMS_BASE_URL/_local/tokens" -H 'content-type: application/json' \
    -d "{\"sub\":\"$1\",\"roles\":$2,\"name\":\"$3\",\"ttl_seconds\":86400}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
OPERATOR_TOKEN=$(mint operator-1 '["operator"]' 'Olga Operator')
printf '%s\n' "$OPERATOR_TOKEN" >"$STATE_DIR/operator.token"
export SMS_TOKEN=$OPERATOR_TOKEN
if [ -n "${SIM_URL:-}" ]; then
  curl -fsS -X POST "$SIM_URL/_sim/customers" -H 'content-type: application/json' \
    -d "{\"customer_id\":\"$DEMO_CUSTOMER\",\"api_key\":\"$DEMO_KEY\"}" >/dev/null
  account=$(curl -sS -X POST "$SMS_BASE_URL/accounts" -H 'content-type: application/json' \
    -H "authorization: Bearer $OPERATOR_TOKEN" -d "{
    \"name\": \"Demo support line\", \"customer_id\": \"$DEMO_CUSTOMER\", \"api_key\": \"$DEMO_KEY\",
    \"numbers\": [{\"number\": \"$DEMO_NUMBER\", \"type\": \"long_code\", \"description\": \"Demo\"}]}")
  DEMO_ACCOUNT=$(printf '%s' "$account" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("account_id",""))')
  # Its team: a supervisor and two agents, as the console's local sign-in offers them.
  for member in 'supervisor-1 supervisor Sam Supervisor' 'agent-1 agent Ada Agent' 'agent-2 agent Alan Agent'; do
    set -- $member
    [ -n "$DEMO_ACCOUNT" ] && curl -fsS -X PUT "$SMS_BASE_URL/accounts/$DEMO_ACCOUNT/members/$1" \
      -H 'content-type: application/json' -H "authorization: Bearer $OPERATOR_TOKEN" \
      -d "{\"role\":\"$2\",\"display_name\":\"$3 $4\"}" >/dev/null
  done
  # The sample events of events/ with this stack's ids (the demo account and a conversation of
  # the demo customer), for `cargo lambda invoke --data-file`.
  if [ -n "$DEMO_ACCOUNT" ]; then
    python3 "$ROOT/scripts/local_events.py" --api "$SMS_BASE_URL" --sim "$SIM_URL" --account "$DEMO_ACCOUNT" \
      --customer-id "$DEMO_CUSTOMER" --support "$DEMO_NUMBER" --out "$STATE_DIR/events" >/dev/null
  fi
fi

cat <<EOT

  DynamoDB Local        $AWS_ENDPOINT_URL_DYNAMODB   (table $TABLE_NAME, in memory)
  Secrets Manager       $AWS_ENDPOINT_URL_SECRETS_MANAGER   (moto)
  TeleSign              $TELESIGN_BASE_URL
  Channel API           $SMS_BASE_URL   (every route of template.yaml)
  Agent console         $SMS_BASE_URL/console   (the local sign-in page: any user, name and role)
  Operator token        .local/$STACK_NAME/operator.token   (valid 24 h; mint others: POST $SMS_BASE_URL/_local/tokens)
  Logs                  .local/$STACK_NAME/*.log   (stop with Ctrl-C, or: make stop SMS_LOCAL_PORT=$SMS_LOCAL_PORT)
  Functions' env        .local/$STACK_NAME/env   (cargo lambda watch --env-file .local/$STACK_NAME/env)
EOT
if [ -n "${DEMO_ACCOUNT:-}" ]; then
  cat <<EOT

  Demo account $DEMO_ACCOUNT, support number $DEMO_NUMBER, TeleSign customer $DEMO_CUSTOMER.
  Text it as a customer:
    ${TARGET_DIR#"$ROOT"/}/debug/telesign-sim text --sim $SIM_URL --customer-id $DEMO_CUSTOMER \\
      --callback-url $SMS_BASE_URL/telesign/$DEMO_ACCOUNT/callback --from 14255550123 --to $DEMO_NUMBER --text "Hello, my order is late"
  See it (as the operator; every route but the callback and the console needs a token):
    TOKEN=\$(cat .local/$STACK_NAME/operator.token)
    curl -s -H "authorization: Bearer \$TOKEN" "$SMS_BASE_URL/conversations?account_id=$DEMO_ACCOUNT"
  As an agent of the demo team:
    curl -s -X POST $SMS_BASE_URL/_local/tokens -d '{"sub":"agent-1","roles":["agent"],"name":"Ada Agent"}' 
  Sample events with these ids: .local/$STACK_NAME/events/ (cargo lambda invoke --data-file)
EOT
fi
echo
echo "  Operator token (Authorization: Bearer …):"
echo "    $OPERATOR_TOKEN"
echo
echo "ready: the SMS channel listens on $SMS_BASE_URL (Ctrl-C stops everything)"
while true; do sleep 3600 & wait $! || true; done
