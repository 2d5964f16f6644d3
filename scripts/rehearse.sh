#!/usr/bin/env bash
# The deploy rehearsal (deploy/rehearse.py) with the local Python tools: `make rehearse`, or
# `make rehearse ARGS='--parameter CallbackReservedConcurrency=50'` to rehearse an operator's values.
set -euo pipefail
DDB_PORT=${DDB_PORT:-8000} STACK_NAME=rehearsal
. "$(dirname "$0")/stack.sh"
install_tools
cd "$ROOT"
exec .venv/bin/python deploy/rehearse.py "$@"
