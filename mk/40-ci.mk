# CI pipeline: the checks and stages the GitHub Actions workflows run, runnable the same way on a laptop.
# Workflows stay thin: each step is one of these targets (or a script under scripts/).

CHECKOV_VENV := $(ROOT)/.venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
SARIF_DIR    ?= $(STATE)/sarif
SARIF_FILES   = bandit.sarif checkov.sarif  # what `make sarif` writes; the verdict needs both
REPO_FILES   := $(PY) scripts/ci/repo_files.py

.PHONY: quality quality-python quality-terraform quality-workflows quality-dockerfiles quality-shell \
        security security-verdict sarif checkov-venv

quality: quality-python quality-terraform quality-workflows quality-dockerfiles quality-shell ## All static checks (ruff, terraform fmt, actionlint, zizmor, hadolint, shellcheck)

quality-python: venv ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

quality-terraform: ## terraform fmt check of infra/
	terraform fmt -check -recursive -diff infra

quality-workflows: venv ## actionlint (with shellcheck + pyflakes) and zizmor (offline) on .github/
	$(BIN)/actionlint -shellcheck $(BIN)/shellcheck -pyflakes $(BIN)/pyflakes
	$(BIN)/zizmor --offline --min-severity medium --no-progress .github

quality-dockerfiles: venv ## hadolint on every Dockerfile
	@files="$$($(REPO_FILES) dockerfiles)"; test -n "$$files" || { echo "no Dockerfiles found"; exit 1; }; \
	  echo "hadolint $$files" | tr '\n' ' '; echo; $(BIN)/hadolint $$files

quality-shell: venv ## shellcheck on every shell script
	@files="$$($(REPO_FILES) shell)"; test -n "$$files" || { echo "no shell scripts found"; exit 1; }; \
	  echo "shellcheck $$files" | tr '\n' ' '; echo; $(BIN)/shellcheck $$files

$(CHECKOV):
	python3 -m venv $(CHECKOV_VENV)
	$(call lock_install,$(CHECKOV_VENV)/bin/python,requirements/checkov.txt)

checkov-venv: $(CHECKOV) ## Create checkov's own virtualenv (its hcl2 clashes with ours)

# The one checkov configuration is policies/.checkov.yaml (mk/35-edge.mk: `make checkov`).
CHECKOV_ARGS := --config-file policies/.checkov.yaml --skip-download --quiet -d infra

security: sarif ## bandit and checkov (with policies/), one run each: SARIF in SARIF_DIR, then fails on any finding
	$(PY) scripts/ci/sarif_verdict.py $(SARIF_DIR) $(SARIF_FILES:%=--expect %)

security-verdict: venv ## Fail on any finding in SARIF_DIR's SARIF files (what `make sarif` wrote; nothing is scanned again)
	$(PY) scripts/ci/sarif_verdict.py $(SARIF_DIR) $(SARIF_FILES:%=--expect %)

sarif: venv checkov-venv ## bandit + checkov results as SARIF in SARIF_DIR (never fails on findings)
	mkdir -p $(SARIF_DIR)
	rm -f $(SARIF_DIR)/*.sarif  # an earlier scan's file never stands in for this one's
	$(BIN)/bandit -q -c pyproject.toml -r services scripts -f json -o $(SARIF_DIR)/bandit.json --exit-zero
	$(PY) scripts/ci/bandit_sarif.py $(SARIF_DIR)/bandit.json $(SARIF_DIR)/bandit.sarif
	rm -f $(SARIF_DIR)/bandit.json
	$(CHECKOV) $(CHECKOV_ARGS) --soft-fail -o sarif --output-file-path $(SARIF_DIR) >/dev/null
	mv $(SARIF_DIR)/results_sarif.sarif $(SARIF_DIR)/checkov.sarif
	@ls -l $(SARIF_DIR)

# ---- Terraform plan sealing (the pipeline applies exactly the plan it showed) -----------------
# After `make plan ENV=x`: seal .local/terraform/x.tfplan and render it into PLAN_OUT.
# The apply job never receives the binary plan (its embedded state holds secrets in clear): it plans
# again and `make plan-verify PLAN_SEAL=<the reviewed seal>` refuses that new plan unless it is for
# this environment and commit and renders exactly as the reviewed one; then `make apply TFPLAN=...`.
COMMIT             ?= $(shell git rev-parse HEAD 2>/dev/null || echo local)
PLAN_OUT            = $(STATE)/plan-out/$(ENV)
PLAN_SEAL          ?= $(PLAN_OUT)/seal.json
DETAILS_URL        ?=
GITHUB_OUTPUT_FILE ?=
SUMMARY_FILE       ?=
REPORT_MAX_CHARS   ?= 60000

.PHONY: plan-seal plan-verify smoke

plan-seal: ## After make plan: seal ENV's plan; write plan.txt, report.md, summary.json in .local/plan-out/ENV
	# plan.json and make plan's JSON hold sensitive values in clear: deleted whatever happens.
	trap 'rm -f $(PLAN_OUT)/plan.json $(PLAN_JSON) $(PLAN_JSON).plan-sha256' EXIT; set -e; \
	$(TF_ENV) $(PY) scripts/ci/plan_guard.py seal --chdir $(STACK) --plan $(TF_STATE)/$(ENV).tfplan \
	  --env $(ENV) --commit $(COMMIT) --out-dir $(PLAN_OUT) $(if $(GITHUB_OUTPUT_FILE),--github-output $(GITHUB_OUTPUT_FILE)) \
	  $(if $(wildcard $(PLAN_JSON)),--plan-json $(PLAN_JSON)); \
	$(PY) scripts/plan_report.py $(PLAN_OUT)/plan.json --env $(ENV) --max-chars $(REPORT_MAX_CHARS) \
	  --marker plan-report:$(ENV) $(if $(DETAILS_URL),--details-url $(DETAILS_URL)) \
	  --out $(PLAN_OUT)/report.md --summary-json $(PLAN_OUT)/summary.json \
	  $(if $(GITHUB_OUTPUT_FILE),--github-output $(GITHUB_OUTPUT_FILE)); \
	$(PY) scripts/plan_report.py $(PLAN_OUT)/plan.json --env $(ENV) --max-chars 900000 \
	  --out $(PLAN_OUT)/full-report.md
	$(if $(SUMMARY_FILE),$(PY) scripts/ci/job_summary.py $(PLAN_OUT)/full-report.md $(PLAN_OUT)/plan.txt >> $(SUMMARY_FILE))
	@cat $(PLAN_OUT)/summary.json

plan-verify: check-env ## After make plan (same folder, no second init): refuse ENV's new plan unless it renders exactly as the reviewed one (PLAN_SEAL: env, commit, rendering)
	$(TF_ENV) $(PY) scripts/ci/plan_guard.py verify --chdir $(STACK) --replanned \
	  --plan $(TF_STATE)/$(ENV).tfplan --seal $(PLAN_SEAL) --env $(ENV) --commit $(COMMIT)

SMOKE_TIMEOUT  ?= 300
SMOKE_DIR      ?= $(STATE)/smoke
SMOKE_BASE_URL ?=
REVISION       ?=

# Secret values from the environment variable SERVICE_SECRETS (KEY=VALUE lines: a GitHub environment
# secret in the pipeline) into ENV's Secrets Manager secrets; names printed, values never. Then a new
# ECS deployment of every service whose tasks lack the current values (scripts/roll_services.py: ECS
# reads secrets only when a task starts; in an empty account the apply's first deployment cannot
# start any task, the values did not exist yet), waiting until its tasks run.
.PHONY: sync-secrets
sync-secrets: venv-deploy ## Write ENV's secret values (env SERVICE_SECRETS: KEY=VALUE lines) into Secrets Manager, then roll services that need them
	@case "$(ENV)" in dev|prod|local) ;; *) echo "ENV must be dev, prod or local (got '$(ENV)')" >&2; exit 2;; esac
	@if [ -z "$${SERVICE_SECRETS:-}" ]; then \
	  echo "::error title=SERVICE_SECRETS is empty::the secret SERVICE_SECRETS of the GitHub environment $(ENV) is empty or missing" >&2; exit 1; fi
	@values="$$(mktemp)"; trap 'rm -f "$$values"' EXIT; chmod 600 "$$values"; \
	  printf '%s\n' "$$SERVICE_SECRETS" > "$$values"; \
	  $(PY) scripts/sync_secrets.py --env $(ENV) --values-file "$$values" --require-existing
	@$(PY) scripts/roll_services.py --env $(ENV)

smoke: tf-init ## Smoke-test ENV (URLs from its Terraform outputs, API keys from its Secrets Manager; REVISION=sha waits for it)
	$(TF_ENV) $(PY) scripts/ci/smoke_env.py --env $(ENV) --timeout $(SMOKE_TIMEOUT) --out-dir $(SMOKE_DIR) \
	  $(if $(SMOKE_BASE_URL),--base-url $(SMOKE_BASE_URL)) $(if $(REVISION),--revision $(REVISION))

# ---- The workflows proven by running them (tests/pipeline/test_workflows_*.py) -----------------
# act runs .github/workflows/*.yml as they are, GitHub is played on loopback, AWS is the emulator,
# the services behind each environment's URL are the loopback data plane that follows it. Needs the
# shared action cache (the folder named by STOREFRONT_SHARED_DIR). Per-job timings print.
PIPELINE_TESTS := tests/pipeline/test_workflows_act.py tests/pipeline/test_workflows_deploy.py \
                  tests/pipeline/test_workflows_release.py

.PHONY: pipeline

pipeline: venv ## Run the real workflow YAML with act: pull requests, main -> dev (and a failing smoke), tag -> prod, drift
	@rc=0; $(BIN)/pytest $(PIPELINE_TESTS) -p no:xdist -s -rA $(PYTEST_ARGS) || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "PIPELINE NOT RUN: the shared action cache was not found (set STOREFRONT_SHARED_DIR)" >&2; exit 1; fi; \
	  exit $$rc
