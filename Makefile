# Two commands matter: `make demo` and `make test`. Both need only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 8766
DATA_DIR ?= $(CURDIR)/.demo

# The demo's environment: a local emulator instead of AWS, fake keys for it, SQLite, and the
# filesystem broker (no server needed). Real deployments set their own values instead.
DEMO_ENV := DEBUG=1 DATA_DIR=$(DATA_DIR) WEB_PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) \
	AWS_SHARED_CREDENTIALS_FILE=$(DATA_DIR)/aws/credentials AWS_CONFIG_FILE=$(DATA_DIR)/aws/config \
	AWS_ENDPOINT_URL_BACKUP=http://127.0.0.1:$(EMULATOR_PORT) \
	AWS_ENDPOINT_URL_CONFIG_SERVICE=http://127.0.0.1:$(EMULATOR_PORT) AWS_EC2_METADATA_DISABLED=true \
	PATH=$(CURDIR)/$(BIN):$$PATH

.PHONY: install demo test test-services lint format bench chaos clean

$(BIN)/.installed: pyproject.toml tests/e2e/js/package-lock.json
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@# axe-core for the browser tests; without npm they skip and say so.
	if command -v npm >/dev/null; then cd tests/e2e/js && npm ci --silent --no-audit --no-fund; \
	else echo "npm not found: the browser tests will skip (they need axe-core)"; fi
	touch $@

install: $(BIN)/.installed

demo: install
	mkdir -p $(DATA_DIR)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@echo
	@echo "  Open http://127.0.0.1:$(PORT)/ and log in with one of the users above."
	@echo "  AWS CLI against the emulator: AWS_SHARED_CREDENTIALS_FILE=$(DATA_DIR)/aws/credentials \\"
	@echo "    $(BIN)/aws --profile demo-prod --region eu-west-1 backup list-frameworks --endpoint-url http://127.0.0.1:$(EMULATOR_PORT)"
	@echo "  Ctrl-C stops everything."
	@echo
	$(DEMO_ENV) $(BIN)/honcho start

# The whole suite. PostgreSQL/Redis/Chromium tests skip with a hint unless those are configured.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The same suite on the local PostgreSQL and Redis, as CI runs it.
test-services: install
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest $(PYTEST_ARGS)

# mypy loads the settings (django-stubs), which want DEBUG=1 or a SECRET_KEY.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/bench_document.py
	$(BIN)/python bench/bench_apply.py  # needs PostgreSQL and Redis, like make test-services

# Workers killed at every stage of an apply, 20 times per stage (CI runs 3), then at random
# moments with a seed (CHAOS_SEED=... to replay one; printed by the run). PostgreSQL and Redis.
CHAOS_SEED ?= $(shell date +%s)
chaos: install
	CHAOS_KILLS=20 CHAOS_SEED=$(CHAOS_SEED) DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest tests/chaos -s $(PYTEST_ARGS)
	$(BIN)/python bench/bench_editor.py

clean:
	rm -rf $(VENV) .demo staticfiles .pytest_cache .ruff_cache .hypothesis tests/e2e/js/node_modules
