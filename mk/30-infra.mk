# Terraform: formatting, validation, module tests, state backend, plan/apply/destroy per environment.
# The same targets run on a laptop and in the pipeline:
#   make tf-fmt tf-validate tf-test
#   make bootstrap-backend ENV=dev
#   make plan ENV=dev IMAGE_TAG=git-<sha>     (then: make apply ENV=dev TFPLAN=.local/terraform/dev.tfplan)
#   make apply ENV=local                      (against the emulator on 127.0.0.1:4566)

.PHONY: tf-fmt tf-fmt-fix tf-validate tf-test bootstrap-backend check-env tf-init plan apply destroy-guard destroy \
        bootstrap-plan bootstrap-apply iam-report tf-lock

ENV       ?= dev
INFRA     := $(ROOT)/infra
STACK     := $(INFRA)/stack
ENV_DIR   := $(INFRA)/envs/$(ENV)
TF_STATE  := $(STATE)/terraform
TF_ROOTS  := $(STACK) $(INFRA)/bootstrap
TF_MODULES := $(sort $(patsubst %/tests/,%,$(dir $(wildcard $(INFRA)/modules/*/tests/*.tftest.hcl $(INFRA)/bootstrap/tests/*.tftest.hcl))))
TF        := terraform
TF_ARGS   := -input=false -no-color
# Every init installs exactly the provider builds in the committed .terraform.lock.hcl of its
# directory and fails instead of changing it (plan and apply jobs then use the same build).
TF_INIT   := init -lockfile=readonly

export CHECKPOINT_DISABLE := 1
# Go's garbage collector runs when the heap has grown by GOGC percent (default 100). terraform and
# the AWS provider (started by every plan, apply, show, validate and `terraform test` run block)
# allocate the provider's whole schema at start: at 400 they spend about a third less CPU per
# start, for about 10% more memory (tests/infra/tfkit.py reads this value for the tests' own
# terraform). A pacing setting only: what terraform does and answers is the same (Go runtime
# documentation, "Environment Variables": https://pkg.go.dev/runtime).
export GOGC ?= 400
export TF_IN_AUTOMATION := 1
# No registry access here or in CI: providers come from the filesystem mirror when it exists.
ifneq ($(wildcard /opt/tf-plugins),)
export TF_CLI_CONFIG_FILE := $(INFRA)/mirror.tfrc
endif

# ENV=local is the AWS emulator: fake credentials, its endpoint (AWS_ENDPOINT_URL wins if set).
ifeq ($(ENV),local)
export AWS_ENDPOINT_URL ?= http://127.0.0.1:4566
export AWS_ACCESS_KEY_ID := testing
export AWS_SECRET_ACCESS_KEY := testing
export AWS_REGION := eu-west-1
export AWS_DEFAULT_REGION := eu-west-1
export AWS_EC2_METADATA_DISABLED := true
endif

# The release tag of the images (the pipeline passes the tag it built; local tfvars carry one).
ifdef IMAGE_TAG
export TF_VAR_image_tag := $(IMAGE_TAG)
endif

# One .terraform folder per environment, outside the source tree.
TF_ENV = TF_DATA_DIR=$(TF_STATE)/$(ENV)

check-env:
	@case "$(ENV)" in dev|prod|local) ;; *) echo "ENV must be dev, prod or local (got '$(ENV)')" >&2; exit 2;; esac
	@test -f $(ENV_DIR)/backend.hcl || { echo "$(ENV_DIR)/backend.hcl missing: run make bootstrap-backend ENV=$(ENV)" >&2; exit 2; }

tf-fmt: ## Terraform format check (fails on unformatted files; tf-fmt-fix rewrites them)
	$(TF) fmt -check -diff -recursive $(INFRA)

tf-fmt-fix: ## Rewrite Terraform files in canonical format
	$(TF) fmt -recursive $(INFRA)

tf-validate: ## terraform validate every root module (no backend, no credentials)
	@for root in $(TF_ROOTS); do \
	  name=$$(basename $$root); echo "== validate $$name"; \
	  TF_DATA_DIR=$(TF_STATE)/validate-$$name $(TF) -chdir=$$root $(TF_INIT) -backend=false $(TF_ARGS) >/dev/null && \
	  TF_DATA_DIR=$(TF_STATE)/validate-$$name $(TF) -chdir=$$root validate -no-color || exit 1; \
	done

# The provider lock of every Terraform folder (committed). Resolves the newest build the version
# constraints allow (from the registry, or /opt/tf-plugins when it exists) and records its hashes
# for PLATFORMS; commit the changed .terraform.lock.hcl files.
PLATFORMS ?= linux_amd64
TF_DIRS   := $(STACK) $(INFRA)/bootstrap $(sort $(wildcard $(INFRA)/modules/*))

tf-lock: ## Refresh every .terraform.lock.hcl (PLATFORMS="linux_amd64 darwin_arm64" adds platforms)
	@for dir in $(TF_DIRS); do \
	  echo "== lock $${dir#$(INFRA)/}"; \
	  TF_DATA_DIR=$(TF_STATE)/lock-$$(basename $$dir) $(TF) -chdir=$$dir init -upgrade -backend=false $(TF_ARGS) >/dev/null && \
	  TF_DATA_DIR=$(TF_STATE)/lock-$$(basename $$dir) $(TF) -chdir=$$dir providers lock \
	    $(if $(wildcard /opt/tf-plugins),-fs-mirror=/opt/tf-plugins) $(addprefix -platform=,$(PLATFORMS)) >/dev/null || exit 1; \
	done

tf-test: ## Native module tests (terraform test with a mocked provider; no AWS, no emulator)
	@for mod in $(TF_MODULES); do \
	  name=$$(basename $$mod); echo "== terraform test $${mod#$(INFRA)/}"; \
	  TF_DATA_DIR=$(TF_STATE)/test-$$name $(TF) -chdir=$$mod $(TF_INIT) -backend=false $(TF_ARGS) >/dev/null && \
	  TF_DATA_DIR=$(TF_STATE)/test-$$name $(TF) -chdir=$$mod test -no-color || exit 1; \
	done

bootstrap-backend: ## Create/confirm the state bucket + lock table of ENV and write its backend.hcl
	@case "$(ENV)" in dev|prod|local) ;; *) echo "ENV must be dev, prod or local (got '$(ENV)')" >&2; exit 2;; esac
	$(PY) $(ROOT)/scripts/bootstrap_backend.py --env $(ENV)

tf-init: check-env
	$(TF_ENV) $(TF) -chdir=$(STACK) $(TF_INIT) -reconfigure $(TF_ARGS) -backend-config=../envs/$(ENV)/backend.hcl

# AWS quotas (policy sizes, rules per group) are checked on the rendered plan, before any apply.
# The plan's `terraform show -json` is rendered once, beside the plan file (ENV.tfplan.json, owner
# only: it holds sensitive values in clear, as the plan file itself does), with the SHA-256 of the
# plan it renders (ENV.tfplan.json.plan-sha256), and deleted after the check unless
# KEEP_PLAN_JSON=1: the plan job keeps it for `make plan-seal`, which moves it into its out-dir
# (refusing a JSON whose recorded SHA-256 is not the plan's) and deletes it after the report.
# CHECK_QUOTAS=0 renders and checks nothing: for the apply job's second plan, which
# `make plan-verify` refuses unless it renders exactly as the reviewed plan, whose quotas the plan
# job checked (every `terraform show` loads the provider's schemas: several CPU seconds).
QUOTAS         = $(PY) $(ROOT)/scripts/quotas.py
CHECK_QUOTAS   ?= 1
KEEP_PLAN_JSON ?= 0
PLAN_JSON       = $(TF_STATE)/$(ENV).tfplan.json
ifneq ($(filter-out 0 1,$(CHECK_QUOTAS) $(KEEP_PLAN_JSON)),)
$(error CHECK_QUOTAS and KEEP_PLAN_JSON must be 0 or 1 (got '$(CHECK_QUOTAS)' and '$(KEEP_PLAN_JSON)'))
endif

plan: tf-init ## Plan ENV (writes .local/terraform/ENV.tfplan; IMAGE_TAG=... unless the tfvars has one); checks AWS quotas
	@rm -f $(PLAN_JSON) $(PLAN_JSON).plan-sha256
	$(TF_ENV) $(TF) -chdir=$(STACK) plan $(TF_ARGS) -var-file=../envs/$(ENV)/terraform.tfvars -out=$(TF_STATE)/$(ENV).tfplan
ifneq ($(CHECK_QUOTAS),0)
	(umask 077 && $(TF_ENV) $(TF) -chdir=$(STACK) show -json $(TF_STATE)/$(ENV).tfplan > $(PLAN_JSON).part) \
	  && mv $(PLAN_JSON).part $(PLAN_JSON) || { rm -f $(PLAN_JSON).part; exit 1; }
	sum="$$(sha256sum $(TF_STATE)/$(ENV).tfplan)" && echo "$${sum%% *}" > $(PLAN_JSON).plan-sha256 \
	  || { rm -f $(PLAN_JSON) $(PLAN_JSON).plan-sha256; exit 1; }
	$(QUOTAS) $(PLAN_JSON) || { rm -f $(PLAN_JSON) $(PLAN_JSON).plan-sha256; exit 1; }
ifneq ($(KEEP_PLAN_JSON),1)
	@rm -f $(PLAN_JSON) $(PLAN_JSON).plan-sha256
endif
endif

# A saved plan is applied where `make plan` made it: its folder was initialised then (no second init).
apply: $(if $(TFPLAN),check-env,tf-init) ## Apply ENV (TFPLAN=<file> applies a saved plan exactly; otherwise plans and applies)
ifdef TFPLAN
	$(TF_ENV) $(TF) -chdir=$(STACK) apply $(TF_ARGS) $(abspath $(TFPLAN))
else
	$(TF_ENV) $(TF) -chdir=$(STACK) apply $(TF_ARGS) -auto-approve -var-file=../envs/$(ENV)/terraform.tfvars
endif

destroy-guard:
	@if [ "$(ENV)" = prod ] && [ "$(CONFIRM)" != prod ]; then echo "refusing to destroy prod without CONFIRM=prod" >&2; exit 2; fi

destroy: destroy-guard tf-init ## Destroy ENV (prod also needs CONFIRM=prod)
	$(TF_ENV) TF_VAR_image_tag=$${TF_VAR_image_tag:-unused-by-destroy} \
	  $(TF) -chdir=$(STACK) destroy $(TF_ARGS) -auto-approve -var-file=../envs/$(ENV)/terraform.tfvars

# The account bootstrap (README, "Going to AWS" step 2), with administrator credentials in the shell.
# Its state lives in the prod backend under its own key; its plan is quota-checked before the apply.
# Its .terraform folder is the default one (infra/bootstrap/.terraform, ignored by git), so
# `terraform -chdir=infra/bootstrap output` works afterwards. BOOTSTRAP_VARS adds -var flags
# (e.g. BOOTSTRAP_VARS="-var create_oidc_provider=false").
GITHUB_REPOSITORY ?=
BOOTSTRAP_VARS    ?=
BOOTSTRAP      := $(INFRA)/bootstrap
BOOTSTRAP_TF    = $(TF) -chdir=$(BOOTSTRAP)
BOOTSTRAP_PLAN := $(TF_STATE)/bootstrap.tfplan

bootstrap-plan: ## Plan infra/bootstrap (GITHUB_REPOSITORY=owner@id/name@id, as in the OIDC sub) and check its policies against AWS quotas
	@test -n "$(GITHUB_REPOSITORY)" || { echo "GITHUB_REPOSITORY=owner@OWNER_ID/name@REPO_ID (or owner/name for a repository without immutable subject claims) is required" >&2; exit 2; }
	@test -f $(INFRA)/envs/prod/backend.hcl || { echo "infra/envs/prod/backend.hcl missing: run make bootstrap-backend ENV=prod" >&2; exit 2; }
	$(BOOTSTRAP_TF) $(TF_INIT) -reconfigure $(TF_ARGS) -backend-config=../envs/prod/backend.hcl -backend-config=key=bootstrap/terraform.tfstate
	$(BOOTSTRAP_TF) plan $(TF_ARGS) -var github_repository=$(GITHUB_REPOSITORY) $(BOOTSTRAP_VARS) -out=$(BOOTSTRAP_PLAN)
	$(BOOTSTRAP_TF) show -json $(BOOTSTRAP_PLAN) | $(QUOTAS) /dev/stdin

bootstrap-apply: ## Apply the plan bootstrap-plan saved (and checked), exactly
	@test -f $(BOOTSTRAP_PLAN) || { echo "no saved bootstrap plan: run make bootstrap-plan GITHUB_REPOSITORY=owner/name" >&2; exit 2; }
	$(BOOTSTRAP_TF) apply $(TF_ARGS) $(BOOTSTRAP_PLAN)
	@rm -f $(BOOTSTRAP_PLAN)

# What each pipeline role did against the emulator (which enforces IAM for assumed roles):
# actions used, actions granted but never used (least-privilege slack), denials in order.
iam-report: venv ## Per role: IAM actions used, granted but never used, and denied (emulator at AWS_ENDPOINT_URL)
	$(PY) $(ROOT)/scripts/iam_enforce.py report --endpoint $${AWS_ENDPOINT_URL:-http://127.0.0.1:$${LOCAL_AWS_PORT:-4566}}
