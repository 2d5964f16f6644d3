#!/usr/bin/env bash
# `make smoke API=<ApiUrl> TOKEN=<operator ID token> [STACK=<stack name>]`: scripts/smoke.py with the
# local Python tools (boto3 for the alarms, with the shell's AWS credentials and region).
set -euo pipefail
DDB_PORT=${DDB_PORT:-8000} STACK_NAME=smoke
. "$(dirname "$0")/stack.sh"
install_tools >&2
cd "$ROOT"
exec .venv/bin/python scripts/smoke.py --api "${API:-}" --token "${TOKEN:-}" ${STACK:+--stack "$STACK"}
