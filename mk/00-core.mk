# Shared targets: environment, tests, formatting.

.PHONY: help venv test test-fast fmt lint clean

help: ## List the commands
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN{FS=":.*## "}{printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@

venv: $(VENV)/.installed ## Create the tooling virtualenv from the hashed lock

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
