# Benchmarks (scripts/bench/run.py): printed numbers, never assertions; loopback only.
# BENCH_ARGS: --with-faults (run tests/faults, add their figures), --with-tests (time `make test`),
# --duration 5 (seconds per load row), --connections 16, --skip-make-up.
# bench-calls: counts only (no load); CALLS_ARGS='--write-baseline docs/bench-calls-baseline.json' saves
# the counts as the baseline that later runs compare with.

.PHONY: bench bench-calls

bench: venv ## Load, latency, cold start and `make up` timings; writes docs/benchmarks.md
	@command -v wrk >/dev/null || { echo "bench: wrk not found; run: bash scripts/install_system_deps.sh" >&2; exit 1; }
	$(PY) scripts/bench/run.py $(BENCH_ARGS)

bench-calls: venv ## DynamoDB and orders->catalog calls per operation vs minimum and baseline (~20 s); updates docs/benchmarks.md
	$(PY) scripts/bench/calls.py --update-doc docs/benchmarks.md $(CALLS_ARGS)
