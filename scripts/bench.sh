#!/usr/bin/env bash
# The benchmarks, with figures printed: criterion micro-benchmarks of the protocol work, cold
# starts of each function's release bootstrap, and warm work of every operation against the
# local stack (its own ports), with request counts and the cost per million messages; one busy
# account's load through the capacity model of the DynamoDB fault proxy; then the
# cold-start matrix: every function (and a Python peer of inbound-callback) over plain HTTP and
# over TLS (the bench's own CA in front of the emulators), at full CPU and at Lambda's CPU share of
# each memory size (a cgroup v1 CPU quota; BENCH_MEMORY="" skips the quotas); last, the memory
# sizes: each function's cold start and warm invocations at each size, and their cost.
set -euo pipefail
DDB_PORT=${BENCH_DDB_PORT:-28000}
MOTO_PORT=${BENCH_MOTO_PORT:-25000}
SIM_PORT=${BENCH_SIM_PORT:-28787}
SMS_LOCAL_PORT=${BENCH_SMS_PORT:-29000}
STACK_NAME=bench-$SMS_LOCAL_PORT
DDB_STORAGE="-inMemory"
ITERATIONS=${BENCH_ITERATIONS:-200}
COLD_RUNS=${BENCH_COLD_RUNS:-5}
MEMORY=${BENCH_MEMORY-1024,512,256,128}
TLS_PORTS="${BENCH_DDB_TLS_PORT:-28443},${BENCH_MOTO_TLS_PORT:-28444},${BENCH_SIM_TLS_PORT:-28445}"
unset TELESIGN_BASE_URL
. "$(dirname "$0")/stack.sh"
cd "$ROOT"

install_tools
# The Python peer's own dependency (boto3 comes with moto): TeleSign's SDK, for the bench only.
if ! .venv/bin/python -c "import telesign" 2>/dev/null; then
  say "installing TeleSign's Python SDK into .venv/ (the cold-start peer)"
  retry .venv/bin/pip install --quiet --disable-pip-version-check telesign
fi
build_stack
# `scripts/bench.sh load` (make load): the capacity load alone.
if [ "${1:-}" = load ]; then
  cargo build --release --quiet -p channel-bench
  trap stop_stack EXIT
  start_stack
  "$TARGET_DIR/release/channel-bench" load "${BENCH_LOAD_SECONDS:-60}" "${BENCH_LOAD_CONCURRENCY:-16}" ${BENCH_LOAD_ENFORCE:+--enforce} | grep -v '^{'
  exit 0
fi
echo "== building the release bootstraps (cargo lambda build --release) and the harness"
PATH="$ROOT/.venv/bin:$PATH" cargo lambda build --release --quiet \
  -p inbound-callback -p outbound-send -p conversations -p accounts -p validate-credentials -p console
cargo build --release --quiet -p channel-bench

echo "== criterion: protocol work"
cargo bench --quiet -p channel-domain --bench protocol -- --noplot 2>&1 | grep -E '^[a-z].*|time:' || true

trap stop_stack EXIT
start_stack
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
"$TARGET_DIR/release/channel-bench" cold "$TARGET_DIR/lambda"
# BENCH_BEFORE: the lambda folder of another build (an earlier commit's `cargo lambda build
# --release`), measured the same way against the same stack, for a before/after comparison.
if [ -n "${BENCH_BEFORE:-}" ]; then
  echo "== the same cold starts, bootstraps of $BENCH_BEFORE"
  "$TARGET_DIR/release/channel-bench" cold "$BENCH_BEFORE"
fi
# Standard output to a file: the harness counts the bytes the functions log per request (their
# JSON lines, kept out of the figures shown).
"$TARGET_DIR/release/channel-bench" warm "$ITERATIONS" > "$STATE_DIR/warm.out"
grep -v '^{' "$STATE_DIR/warm.out"
# One busy account through the DynamoDB fault proxy's capacity model: each key's units a second
# scaled to 1,000 callbacks a second, against one partition's limits (docs/benchmarks.md: Capacity).
"$TARGET_DIR/release/channel-bench" load "${BENCH_LOAD_SECONDS:-60}" "${BENCH_LOAD_CONCURRENCY:-16}" | grep -v '^{'
"$TARGET_DIR/release/channel-bench" cold-matrix "$TARGET_DIR/lambda" --runs "$COLD_RUNS" --memory "$MEMORY" \
  --tls-ports "$TLS_PORTS" --state "$STATE_DIR/tls" --python "$ROOT/.venv/bin/python" "$ROOT/tools/bench/peer/inbound_callback.py"
if [ -n "${BENCH_BEFORE:-}" ]; then
  echo "== the same matrix, bootstraps of $BENCH_BEFORE"
  "$TARGET_DIR/release/channel-bench" cold-matrix "$BENCH_BEFORE" --runs "$COLD_RUNS" --memory "$MEMORY" \
    --tls-ports "$TLS_PORTS" --state "$STATE_DIR/tls"
fi
# The memory size of each function: over TLS at Lambda's CPU share of each size, a cold start and
# warm invocations per process, with the cost per million invocations (docs/benchmarks.md: Memory sizes).
"$TARGET_DIR/release/channel-bench" sizes "$TARGET_DIR/lambda" --runs "${BENCH_SIZE_RUNS:-3}" --warm "${BENCH_WARM:-10}" \
  --tls-ports "$TLS_PORTS" --state "$STATE_DIR/tls"
