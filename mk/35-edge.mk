# Edge (CloudFront + S3 site, WAF, DNS/TLS, monitoring) and policy as code.
#   make checkov                          checkov with policies/ over infra/ (0 failures expected)
#   make publish-static ENV=local         upload web/ to the env's site bucket, invalidate what changed
#        [FOLDER=web] [DELETE=1] [DRY_RUN=1]
#   make edge-test                        the edge, publish and policy tests

.PHONY: checkov publish-static edge-test

FOLDER ?= web
# checkov lives in its own venv (.venv-checkov, from requirements/checkov.txt with --require-hashes);
# `checkov-venv` (mk/40-ci.mk) creates it when missing.
EDGE_CHECKOV := $(ROOT)/.venv-checkov/bin/checkov

checkov: ## checkov with our custom policies over infra/ (skips in policies/.checkov.yaml, one inline: CKV_AWS_2 on the internal ALB)
	@test -x $(EDGE_CHECKOV) || $(MAKE) checkov-venv
	$(EDGE_CHECKOV) --config-file policies/.checkov.yaml --skip-download --quiet -d infra

publish-static: venv-deploy ## Publish FOLDER (default web/) to ENV's site bucket; DELETE=1 removes stale files
	@case "$(ENV)" in dev|prod|local) ;; *) echo "ENV must be dev, prod or local (got '$(ENV)')" >&2; exit 2;; esac
	$(PY) scripts/publish_static.py $(FOLDER) --env $(ENV) $(if $(DELETE),--delete) $(if $(DRY_RUN),--dry-run)

edge-test: venv ## Edge checks against an applied emulator stack, publish script and policy tests
	$(BIN)/pytest -n 2 --dist loadfile tests/infra/test_stack_lifecycle.py tests/infra/test_edge_publish.py \
	  tests/infra/test_policy_checks.py tests/infra/test_policy_infra.py $(PYTEST_ARGS)
