#!/usr/bin/env bash
# Everything the tests need, then every test: installs the local tools, starts the local stack on
# its own ports, checks formatting and lints, runs the whole workspace's tests against the stack,
# and stops it. A test that needs the stack and cannot reach it fails.
set -euo pipefail
DDB_PORT=${TEST_DDB_PORT:-18000}
DDB_PROXY_PORT=${TEST_DDB_PROXY_PORT:-$((DDB_PORT + 50))}
MOTO_PORT=${TEST_MOTO_PORT:-15000}
SIM_PORT=${TEST_SIM_PORT:-18787}
SMS_LOCAL_PORT=${TEST_SMS_PORT:-19000}
STACK_NAME=test-$SMS_LOCAL_PORT
unset TELESIGN_BASE_URL
. "$(dirname "$0")/stack.sh"
cd "$ROOT"

echo "== cargo fmt --check"
cargo fmt --all -- --check
# The tools (Python, Node, Chromium) install from the registries while the workspace compiles.
mkdir -p "$ROOT/.local"
install_log="$ROOT/.local/install-tools.log"
(
  install_tools
  if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the console's browser test"
    export DEBIAN_FRONTEND=noninteractive
    retry apt-get update -qq
    retry apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
) >"$install_log" 2>&1 &
installing=$!
# One build for everything: the stack's binaries, the tests, the benchmarks and `cargo lambda
# watch`'s functions share it, the dependencies (the AWS SDK above all) compiled once. Clippy
# lints the workspace's crates as they compile, its driver being the workspace's rustc wrapper
# (what `cargo clippy` runs, with its arguments in CLIPPY_ARGS), rather than checking every
# dependency a second time; `shared/Cargo.toml` unifies the features a function alone would
# otherwise resolve differently.
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
echo "== the workspace built once (binaries, tests, benchmarks), clippy -D warnings as it compiles"
cargo build --workspace --all-targets --quiet
if ! wait "$installing"; then
  cat "$install_log" >&2
  echo "installing the tools failed (its log: $install_log)" >&2
  exit 1
fi
cat "$install_log"
echo "== the console's API types are docs/openapi.yaml's (npm run gen:api)"
npm run -s gen:api -- --check
echo "== the console's TypeScript, type-checked (strict)"
npx --no-install tsc -p console/tsconfig.json
echo "== the console's committed bundle is its source's build"
npx --no-install esbuild console/src/app.ts --bundle --minify --target=es2020 --log-level=warning --outfile="$ROOT/.local/console-check.js"
cmp -s "$ROOT/.local/console-check.js" console/dist/console.js || {
  echo "console/dist/console.js is stale: run npm run build:console and commit it" >&2
  exit 1
}
echo "== sam validate --lint, cfn-lint"
SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --region us-east-1 --template template.yaml
.venv/bin/cfn-lint template.yaml
echo "== the deploy rehearsal: the template as sam deploy translates it, held to AWS's limits (and each rule's test)"
.venv/bin/python deploy/rehearse.py
rehearsal=$(.venv/bin/python -m unittest tests/rehearsal_test.py 2>&1) || { echo "$rehearsal"; exit 1; }
echo "$rehearsal" | tail -1
claim_stack
rm -rf "$STATE_DIR/dynamodb-data" && mkdir -p "$STATE_DIR/dynamodb-data"
DDB_STORAGE="-dbPath $STATE_DIR/dynamodb-data"
# The stack logs at the most verbose level production allows (the template's LogLevel: DEBUG), so
# that the leak scan at the end reads every line a deployed function could write.
export RUST_LOG=${TEST_LOG_LEVEL:-debug}
# Delivery reports come quickly in tests, and a TeleSign request times out after 2 s.
SIM_REPORT_DELAY_MS=${SIM_REPORT_DELAY_MS:-50}
export TELESIGN_TIMEOUT_MS=${TELESIGN_TIMEOUT_MS:-2000}
trap stop_stack EXIT
start_stack
export STACK_STATE_DIR="$STATE_DIR"

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest (cargo install --locked)"
  retry cargo install --locked --quiet cargo-nextest
fi
# Beside the tests, what shares no state with them but the stack's answers: the contract fuzz
# (its own accounts and numbers), the two-stack test and the large account's (stacks of their
# own, on their own ports).
# Each writes its own log, shown once the tests are done.
OPERATOR_TOKEN=$(curl -s -X POST "$SMS_BASE_URL/_local/tokens" -d '{"sub":"smoke-operator","roles":["operator"]}' | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
.venv/bin/python tests/contract_fuzz.py --api "$SMS_BASE_URL" --sim "$SIM_URL" --token "$OPERATOR_TOKEN" >"$STATE_DIR/contract-fuzz.out" 2>&1 &
fuzzing=$!
bash tests/two_stacks.sh >"$STATE_DIR/two-stacks.out" 2>&1 &
two_stacks=$!
bash tests/large_account.sh >"$STATE_DIR/large-account.out" 2>&1 &
large_account=$!
echo "== cargo nextest (the stack: $SMS_BASE_URL), with the contract fuzz and the two-stack test beside it"
tested=0
cargo nextest run --workspace --no-fail-fast -E 'not binary(large_account)' "$@" || tested=$?
echo "== the HTTP contract fuzzed: requests generated from docs/openapi.yaml, every answer held to it"
fuzzed=0
wait "$fuzzing" || fuzzed=$?
cat "$STATE_DIR/contract-fuzz.out"
echo "== two stacks side by side in this checkout, each stopped on its own"
stacks=0
wait "$two_stacks" || stacks=$?
cat "$STATE_DIR/two-stacks.out"
if [ "$tested" -ne 0 ] || [ "$fuzzed" -ne 0 ] || [ "$stacks" -ne 0 ]; then
  echo "failed: nextest $tested, contract fuzz $fuzzed, two stacks $stacks" >&2
  exit 1
fi
echo "== the HTTP contract: docs/openapi.yaml against the route table and the stack's answers"
.venv/bin/python tests/openapi_contract.py
echo "== the smoke test of a deployed stack, against this one (and refusing a stack down, a wrong token, a forged callback taken)"
.venv/bin/python scripts/smoke.py --api "$SMS_BASE_URL" --token "$OPERATOR_TOKEN" --stack "$STACK_NAME"
SMOKE_API="$SMS_BASE_URL" SMOKE_TOKEN="$OPERATOR_TOKEN" .venv/bin/python -m unittest -q tests/smoke_test.py
echo "== the cargo lambda watch + invoke path of docs/development.md against the stack"
bash tests/cargo_lambda_watch.sh
echo "== the agent console in headless Chromium"
# One file at a time: a forced 401 (/_local/faults/unauthorized) is the next request of anyone.
node --test --test-concurrency=1 console/*.test.mjs
echo "== no API key in the table or the logs; no token or message text in the channel's logs"
.venv/bin/python scripts/leak_scan.py "$STATE_DIR"
echo "== one customer of an account of 100,000 items, exported and erased (on its own stack, beside the tests)"
large=0
wait "$large_account" || large=$?
cat "$STATE_DIR/large-account.out"
[ "$large" -eq 0 ] || exit 1
