# Shared targets: environment, tests, formatting.

.PHONY: help venv test test-fast fmt lint clean

help: ## List the commands
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN{FS=":.*## "}{printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# The venv records the SHA-256 of the lock it was installed from (.venv/.installed): `make venv`
# reinstalls only when the lock's CONTENT changed, never because a checkout or copy touched it.
LOCK_SHA = $(shell sha256sum requirements/dev.txt | cut -d' ' -f1)

venv: ## Create the tooling virtualenv from the hashed lock (again only when the lock changed)
	@if [ "$$(cat $(VENV)/.installed 2>/dev/null)" != "$(LOCK_SHA)" ]; then \
	  set -e; test -x $(PY) || python3 -m venv $(VENV); \
	  echo "installing the tooling venv from requirements/dev.txt"; \
	  $(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt; \
	  echo "$(LOCK_SHA)" > $(VENV)/.installed; \
	fi

test: venv checkov-venv ## Run the whole test suite (what CI runs)
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

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
