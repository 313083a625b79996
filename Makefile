# Two commands for a new user: `make run` and `make test`. Only python3 (>= 3.11) and make needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

export GRIDOPS_DATABASE__URL ?= sqlite+aiosqlite:///./var/gridops.db

.PHONY: install run demo history test lint openapi clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gridops needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## migrate the database and load the demo district (idempotent)
	@mkdir -p var
	$(BIN)/gridops migrate
	$(BIN)/gridops demo

history: demo  ## add four weeks of simulated work orders, so the weekly review has something to show
	$(BIN)/gridops simulate --weeks 4 --per-day 15

run: demo  ## set up everything and serve the demo district on http://$(HOST):$(PORT)
	@echo ""
	@echo "  gridops is starting on http://$(HOST):$(PORT)"
	@echo "  API docs:     http://$(HOST):$(PORT)/docs   (OpenAPI: /openapi.json)"
	@echo "  a token:      $(BIN)/gridops token --role dispatcher"
	@echo "                (signed with the DEVELOPMENT secret; set GRIDOPS_AUTH__JWT_SECRET in production)"
	@echo ""
	$(BIN)/gridops serve --host $(HOST) --port $(PORT)

test: install  ## the whole suite on SQLite, then on PostgreSQL when GRIDOPS_TEST_DATABASE_URL is set
	env -u GRIDOPS_TEST_DATABASE_URL -u GRIDOPS_DATABASE__URL $(BIN)/pytest -q -rs
	@if [ -n "$$GRIDOPS_TEST_DATABASE_URL" ]; then \
	  echo "--- again on PostgreSQL ($$GRIDOPS_TEST_DATABASE_URL)"; \
	  env -u GRIDOPS_DATABASE__URL $(BIN)/pytest -q -rs; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

openapi: install  ## regenerate the committed OpenAPI document
	$(BIN)/gridops openapi --out openapi/openapi.json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
