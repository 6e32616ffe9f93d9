# Benchmarks (scripts/bench/run.py): printed numbers, never assertions; loopback only.
# BENCH_ARGS: --with-faults (run tests/faults, add their figures), --with-tests (time `make test`),
# --duration 5 (seconds per load row), --connections 16, --skip-make-up.

.PHONY: bench

bench: venv ## Load, latency, cold start and `make up` timings; writes docs/benchmarks.md
	@command -v wrk >/dev/null || { echo "bench: wrk not found; run: bash scripts/install_system_deps.sh" >&2; exit 1; }
	$(PY) scripts/bench/run.py $(BENCH_ARGS)
