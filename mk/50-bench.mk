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

# The two toolchains the pipeline's setup action installs (design.md, "Time to production"), each
# fresh (no pip or uv cache) into a throwaway folder, back to back: seconds, size and load average.
# Needs the package index, like `make venv`.
BENCH_VENVS ?= $(STATE)/bench-venvs

.PHONY: bench-venvs
bench-venvs: ## Fresh `make venv-deploy` vs fresh `make venv`: seconds, MB and load, back to back
	@rm -rf $(BENCH_VENVS); mkdir -p $(BENCH_VENVS)
	@for target in venv-deploy venv; do \
	  load="$$(cut -d' ' -f1 /proc/loadavg)"; start=$$(date +%s.%N); \
	  PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 $(MAKE) $$target VENV=$(BENCH_VENVS)/$$target >/dev/null; \
	  end=$$(date +%s.%N); \
	  printf '%-12s %6.1f s  %5s MB  load %s -> %s\n' "$$target" "$$(python3 -c "print($$end - $$start)")" \
	    "$$(du -sm $(BENCH_VENVS)/$$target | cut -f1)" "$$load" "$$(cut -d' ' -f1 /proc/loadavg)"; \
	done
	@rm -rf $(BENCH_VENVS)
