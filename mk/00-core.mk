# Everyday work: the tooling environment, tests, lint and formatting (shared by every area).

.PHONY: help venv venv-deploy test test-fast test-schedule suite-report fmt lint clean

help: ## List the commands, grouped by area (colour only on a terminal)
	@python3 $(ROOT)/scripts/make_help.py $(MAKEFILE_LIST)

# The venv records the SHA-256 of the lock it was installed from (.venv/.installed): `make venv`
# reinstalls only when the lock's CONTENT changed, never because a checkout or copy touched it.
# `make venv-deploy` installs only requirements/deploy.txt (19 packages: what the pipeline's build
# and deploy jobs run, tests/pipeline/test_deploy_toolchain.py) instead of the whole dev toolchain;
# a full venv satisfies it (same versions, a superset), and a later `make venv` completes it.
# Targets that run only deploy scripts (sync-secrets, publish-static) need only venv-deploy.
FULL_SHA   = $(shell sha256sum requirements/dev.txt | cut -d' ' -f1)
DEPLOY_SHA = $(shell sha256sum requirements/deploy.txt | cut -d' ' -f1)
# Installs are hash-checked twice over: pip installs the installer, uv (requirements/uv.txt, with
# --require-hashes), and uv installs the lock (--require-hashes: every package pinned with its
# hashes, refused otherwise). uv downloads and unpacks in parallel and compiles the bytecode on
# every CPU (--compile-bytecode): a fresh `make venv` in about 15 s where pip took 33 (and both
# venvs side by side in about 20 s instead of 45; pip itself compiled one file at a time). The bytecode is not optional where PYTHONDONTWRITEBYTECODE is set
# (as on our CI machines): without .pyc files every process would compile what it imports, every
# time. uv reads its own settings, not pip's: behind a package mirror, set UV_DEFAULT_INDEX, and
# behind a TLS-intercepting proxy SSL_CERT_FILE or UV_SYSTEM_CERTS=1 (the system's certificate
# store; uv otherwise trusts its bundled roots), as you configure pip (uv documentation,
# "Environment variables"). A failed install stops here: no stamp, the next `make` tries again.
# $(call lock_install,PYTHON,LOCK): the shell command that installs LOCK into PYTHON's venv.
lock_install = $(1) -m pip install --quiet --no-deps --only-binary=:all: --require-hashes -r requirements/uv.txt && \
  $(1) -m uv pip install --quiet --compile-bytecode --python $(1) --require-hashes -r $(2)
# $(call install_venv,LOCK,ITS_SHA): install LOCK unless the venv holds it or the full toolchain.
define install_venv
	@installed="$$(cat $(VENV)/.installed 2>/dev/null || true)"; \
	if [ "$$installed" != "$(2)" ] && [ "$$installed" != "$(FULL_SHA)" ]; then \
	  set -e; test -x $(PY) || python3 -m venv $(VENV); \
	  echo "installing the tooling venv from $(1)"; \
	  $(call lock_install,$(PY),$(1)) || exit 1; \
	  echo "$(2)" > $(VENV)/.installed; \
	fi
endef

venv: ## Create the tooling virtualenv from the hashed lock (again only when the lock changed)
	$(call install_venv,requirements/dev.txt,$(FULL_SHA))

venv-deploy: ## Only the deploy jobs' packages (requirements/deploy.txt; a full venv already has them)
	$(call install_venv,requirements/deploy.txt,$(DEPLOY_SHA))

# checkov's own venv (~1.5 min to build) only when the tests run may need it (tests/infra): not for
# `make test PYTEST_ARGS=services/reviews` and the like. Unknown words keep it, to be safe.
TEST_PATHS    := $(filter-out -%,$(PYTEST_ARGS))
NO_CHECKOV    := services/% tests/docs% tests/local% tests/contract% tests/faults% tests/images% \
                 tests/pipeline% tests/quality% tests/test_%
NEEDS_CHECKOV := $(if $(TEST_PATHS),$(filter-out $(NO_CHECKOV),$(TEST_PATHS)),all)

# TEST_WORKERS workers (4 on our 2-core machines: the infrastructure and pipeline files spend
# most of their time waiting in the AWS provider's polls, not computing, and the CPU column of
# the report shows it; from a fresh clone the tests took 12.6 min with 4, 15.4 with 3; on
# 2026-12-06 five took 11.8 min, as four did: the CPUs were busy 97 % of the run), whole
# files each: first the TEST_WORKERS files that used the most CPU in the last full run, then the
# others longest first (tests/support/timing.py reads tests/cpu-seconds.json and
# tests/durations.json; --no-loadscope-reorder keeps that order instead of xdist's "most tests
# first"). Ends with a per-folder durations table (seconds and CPU seconds).
TEST_WORKERS ?= 4
# The two venvs are independent: on a fresh clone they are built at the same time (-j2).
test: ## Run the whole test suite (what CI runs)
	@$(MAKE) --no-print-directory -j2 venv $(if $(NEEDS_CHECKOV),checkov-venv)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-schedule: ## After a full `make test`: its per-file seconds and CPU seconds become the schedule
	$(PY) -m tests.support.timing

suite-report: ## After a full `make test`: seconds per folder and slowest files, before/after (docs/suite-time.md)
	$(PY) -m tests.support.suite_report

test-fast: venv ## Only the fast tests (no images, no terraform apply, no browser)
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

fmt: venv ## Format Python and Terraform
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	-terraform fmt -recursive infra

lint: venv ## Python lint, format check and bandit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r services scripts

clean: ## Stop the local stack and remove local state (venvs, caches, emulator data)
	-$(PY) scripts/localstack.py down
	rm -rf $(VENV) $(ROOT)/.venv-checkov $(STATE) .pytest_cache
