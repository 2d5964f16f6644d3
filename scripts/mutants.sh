#!/usr/bin/env bash
# Mutation testing of the rules (.cargo/mutants.toml says which files and which tests):
# installs cargo-mutants into .tools/ when missing, runs it in place (the workspace's target/ is
# reused, so each mutant rebuilds only the domain and the services), and prints the caught / missed / unviable counts.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=27.1.0
if ! .tools/bin/cargo-mutants mutants --version 2>/dev/null | grep -q "$VERSION"; then
  echo "== installing cargo-mutants $VERSION into .tools/"
  cargo install --quiet --locked cargo-mutants --version "$VERSION" --root .tools
fi
# The baseline build of the tests first, so the timing of each mutant is its own.
cargo test --quiet -p channel-domain -p channel-services --lib --tests --no-run
PATH="$PWD/.tools/bin:$PATH" cargo mutants --in-place --no-shuffle --timeout 20 "$@"
