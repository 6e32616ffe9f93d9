# Services and documentation: add or remove a service, the architecture picture (drawn from code).
#   make diagram                         regenerate docs/architecture.png (diagrams + graphviz)
#   make diagram DIAGRAM_OUT=/tmp/a.png  draw it somewhere else
#   make new-service NAME=reviews [PORT=8083]
#   make remove-service NAME=reviews     (stops it, drops its local secrets and route, moves the folder to .local/removed/)

DIAGRAM_OUT ?= $(ROOT)/docs/architecture.png

.PHONY: diagram new-service remove-service docs-test

diagram: venv ## Regenerate docs/architecture.png from scripts/diagram.py (DIAGRAM_OUT=<file> elsewhere)
	@command -v dot >/dev/null || { echo "diagram: graphviz 'dot' not found; run: bash scripts/install_system_deps.sh" >&2; exit 1; }
	$(PY) scripts/diagram.py --out $(DIAGRAM_OUT)

new-service: venv ## Scaffold services/NAME/ from catalog, redraw the diagram (NAME=reviews [PORT=8083] [DESCRIPTION="..."])
	@test -n "$(NAME)" || { echo "usage: make new-service NAME=<name> [PORT=<port>]" >&2; exit 2; }
	$(PY) scripts/new_service.py $(NAME) $(if $(PORT),--port $(PORT)) $(if $(DESCRIPTION),--description "$(DESCRIPTION)")

remove-service: venv ## Remove services/NAME/: stop it, drop its local secrets and route, redraw the diagram
	@test -n "$(NAME)" || { echo "usage: make remove-service NAME=<name>" >&2; exit 2; }
	@$(PY) scripts/remove_service.py $(NAME)

docs-test: venv ## Only the documentation tests (commands and paths in the docs, scaffold, diagram)
	$(BIN)/pytest -n 2 --dist loadfile tests/docs $(PYTEST_ARGS)
