# The commands of the README. `make help` lists them.
.PHONY: help dev stop watch check test bench load fuzz mutants rehearse smoke

## help: this list
help:
	@sed -n 's/^## \([a-z-]*\): \(.*\)/  make \1\t\2/p' $(MAKEFILE_LIST) | expand -t 16

## dev: the whole channel on http://127.0.0.1:9000 (emulators, TeleSign simulator, every function; Ctrl-C stops it)
dev:
	bash scripts/dev.sh

## stop: stops the `make dev` on SMS_LOCAL_PORT (default 9000) from another shell, and nothing else
stop:
	bash scripts/stop.sh

## watch: cargo lambda watch with the running `make dev`'s environment (invoke on WATCH_PORT, default 9100)
watch:
	bash scripts/watch.sh

## check: the inner loop without the stack, under a minute warm: fmt, clippy and the tests of the domain and the services, the structure checks
check:
	bash scripts/check.sh

## test: installs and starts what the tests need, then fmt, clippy, template checks and every test
test:
	bash scripts/test.sh

## rehearse: the deploy rehearsal: template.yaml as sam deploy translates it, against AWS's limits (no AWS account needed)
rehearse:
	bash scripts/rehearse.sh $(ARGS)

## smoke: checks a deployed stack from outside, changing nothing: make smoke API=<ApiUrl> TOKEN=<operator ID token> [STACK=<name>]
smoke:
	bash scripts/smoke.sh

## bench: criterion micro-benchmarks, cold starts and zip sizes of the release functions, warm work
bench:
	bash scripts/bench.sh

## load: one busy account's callbacks for a minute through DynamoDB's capacity model: each key's units against a partition's limits
load:
	bash scripts/bench.sh load

## fuzz: fuzzes callback parsing, signature verification and text handling (FUZZ_SECONDS each)
fuzz:
	bash scripts/fuzz.sh

## mutants: mutation testing of the rules against the unit tests (cargo-mutants, installed into .tools/)
mutants:
	bash scripts/mutants.sh
