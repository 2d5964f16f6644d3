# The two commands of the README.
.PHONY: dev test bench fuzz mutants

# The whole channel locally: emulators, TeleSign simulator, every function on http://127.0.0.1:9000.
dev:
	bash scripts/dev.sh

# Installs what the tests need, starts it, runs every check and test, stops it.
test:
	bash scripts/test.sh

# Figures: criterion micro-benchmarks, cold starts of the release functions, warm work per operation.
bench:
	bash scripts/bench.sh

# Fuzzes callback parsing, signature verification and text handling (FUZZ_SECONDS per target).
fuzz:
	bash scripts/fuzz.sh

# Mutation testing of the rules against the unit tests (cargo-mutants, installed into .tools/).
mutants:
	bash scripts/mutants.sh
