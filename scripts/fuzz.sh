#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 60) with cargo-fuzz on the
# nightly toolchain. cargo-fuzz is installed into .local/cargo on first use.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_EACH=${FUZZ_SECONDS:-60}
if [ ! -x .local/cargo/bin/cargo-fuzz ]; then
  echo "installing cargo-fuzz into .local/cargo"
  cargo install --quiet --locked --root .local/cargo cargo-fuzz
fi
export PATH="$ROOT/.local/cargo/bin:$PATH"
cd fuzz
for target in callback_parse callback_verify text_and_numbers; do
  echo "== fuzzing $target for ${SECONDS_EACH}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 2>&1 | grep -E "^(#[0-9]+ +DONE|Done|==|INFO: Running|SUMMARY)|panicked|ERROR" || true
  # A crash leaves an artifact: fail on it.
  if ls "artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "$target found a crash: fuzz/artifacts/$target" >&2
    exit 1
  fi
done
echo "fuzzing: no crash in $((SECONDS_EACH * 3))s"
