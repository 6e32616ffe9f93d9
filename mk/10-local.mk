# The local stack: the whole product on this machine (scripts/localstack.py).
# Ports (env): LOCAL_EDGE_PORT=8080 LOCAL_AWS_PORT=4566 LOCAL_PORT_<SERVICE>=<manifest port>.
# State (pids, logs, secrets.env, reports): $(STATE) (git-ignored), or LOCAL_STATE_DIR.

.PHONY: up down status logs edge-config

up: venv ## Start everything locally (emulated AWS, services, edge, site) and smoke-test it
	@$(PY) scripts/localstack.py up

down: ## Stop exactly what `make up` started
	@$(PY) scripts/localstack.py down

status: ## Show what the local stack runs and whether it is healthy
	@$(PY) scripts/localstack.py status

logs: ## Recent local stack logs, readable (FOLLOW=1 to follow, NAME=<component> for one, JSON=1 as stored)
	@$(PY) scripts/localstack.py logs $(if $(FOLLOW),--follow) $(if $(JSON),--json) $(NAME)

edge-config: ## Print the edge (Caddy) configuration generated from the manifests
	@$(PY) scripts/localstack.py caddyfile
