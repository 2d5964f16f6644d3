#!/usr/bin/env bash
# The inner loop, in under a minute warm and without the stack: formatting, clippy on the layers
# below the adapters and on the structure checks, the domain's and the services' tests (the
# rules on the in-memory adapters, the TeleSign vectors, the signature properties) and the
# structure checks (each layer's allowed crates, no module cycle, short functions).
# `make test` runs all of this and everything else against the local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(-p channel-domain -p channel-services -p structure-checks)
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings (domain, services, structure checks)"
cargo clippy --quiet "${packages[@]}" --all-targets --features channel-services/testkit -- -D warnings
echo "== the domain's and the services' tests, and the structure checks"
out=$(cargo test --quiet "${packages[@]}" --features channel-services/testkit --lib --tests 2>&1) || {
  echo "$out"
  exit 1
}
echo "$out" | awk '/^test result/ {p += $4; f += $6} END {printf "%d passed, %d failed\n", p, f}'
