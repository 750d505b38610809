# Two commands matter: `make demo` and `make test`. Both need only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 8766
DATA_DIR ?= $(CURDIR)/.demo
ENV_FILE ?= $(CURDIR)/.env

# The demo's environment: a local emulator instead of AWS, fake keys for it, SQLite, and the
# filesystem broker (no server needed). Real deployments set their own values instead. `make
# demo` writes it to $(ENV_FILE), which the settings read, so manage.py works in any shell after.
DEMO_VARS := DEBUG=1 DATA_DIR=$(DATA_DIR) WEB_PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) \
	SITE_URL=http://127.0.0.1:$(PORT) \
	AWS_SHARED_CREDENTIALS_FILE=$(DATA_DIR)/aws/credentials AWS_CONFIG_FILE=$(DATA_DIR)/aws/config \
	AWS_ENDPOINT_URL_BACKUP=http://127.0.0.1:$(EMULATOR_PORT) \
	AWS_ENDPOINT_URL_STS=http://127.0.0.1:$(EMULATOR_PORT) \
	AWS_ENDPOINT_URL_CONFIG_SERVICE=http://127.0.0.1:$(EMULATOR_PORT) AWS_EC2_METADATA_DISABLED=true \
	HISTORY_SIGNING_KEY_FILE=$(DATA_DIR)/history-key.pem HISTORY_CHECKPOINT_SECONDS=60
DEMO_ENV := $(DEMO_VARS) ENV_FILE=$(ENV_FILE) PATH=$(CURDIR)/$(BIN):$$PATH

.PHONY: install demo test test-services lint format bench chaos clean lock

$(BIN)/.installed: pyproject.toml requirements-dev.lock tests/e2e/js/package-lock.json
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# The locked versions (requirements-dev.lock, made by `make lock`), as CI and the image use.
	$(BIN)/pip install --quiet -c requirements-dev.lock -e '.[dev]'
	@# axe-core for the browser tests; without npm they skip and say so.
	if command -v npm >/dev/null; then cd tests/e2e/js && npm ci --silent --no-audit --no-fund; \
	else echo "npm not found: the browser tests will skip (they need axe-core)"; fi
	touch $@

install: $(BIN)/.installed

demo: install
	@# Ports first: a busy port must stop the demo before it starts anything.
	$(BIN)/python scripts/demo_preflight.py $(ENV_FILE) $(DEMO_VARS)
	mkdir -p $(DATA_DIR)
	$(DEMO_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@# The demo's own key for signing history checkpoints (see the README's "Audit").
	test -f $(DATA_DIR)/history-key.pem || $(DEMO_ENV) $(BIN)/python manage.py history_key --generate $(DATA_DIR)/history-key.pem
	@echo
	@echo "  Open http://127.0.0.1:$(PORT)/ and log in with one of the users above."
	@echo "  AWS CLI against the emulator: AWS_SHARED_CREDENTIALS_FILE=$(DATA_DIR)/aws/credentials \\"
	@echo "    $(BIN)/aws --profile demo-prod --region eu-west-1 backup list-frameworks --endpoint-url http://127.0.0.1:$(EMULATOR_PORT)"
	@echo "  Its settings are in $(ENV_FILE): .venv/bin/python manage.py <command> works in any shell."
	@echo "  Ctrl-C stops everything."
	@echo
	$(DEMO_ENV) $(BIN)/honcho start

# The whole suite. PostgreSQL/Redis/Chromium tests skip with a hint unless those are configured.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The same suite on the local PostgreSQL and Redis, as CI runs it: the owner (a superuser) makes
# the test database, the tests connect as the app role (README "Database roles").
test-services: install
	DATABASE_OWNER_URL=$${DATABASE_OWNER_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	DATABASE_URL=$${DATABASE_URL:-postgresql://backup_app@127.0.0.1:5432/test} \
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

# Every bench in bench/ runs, even after one fails; the end names the ones whose bounds failed.
# bench_apply needs PostgreSQL and Redis, like make test-services.
bench: install
	@failed=""; for bench in bench/bench_*.py; do \
		echo "--- $$bench"; $(BIN)/python $$bench || failed="$$failed $$bench"; \
	done; \
	if [ -n "$$failed" ]; then echo "make bench: a bound failed in:$$failed"; exit 1; fi

# Workers killed at every stage of an apply, 20 times per stage (CI runs 3), then at random
# moments with a seed (CHAOS_SEED=... to replay one; printed by the run). PostgreSQL and Redis.
CHAOS_SEED ?= $(shell date +%s)
chaos: install
	CHAOS_KILLS=20 CHAOS_SEED=$(CHAOS_SEED) DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest tests/chaos -s $(PYTEST_ARGS)

# After changing the dependencies in pyproject.toml: the image's lock and the developers' one.
lock: install
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra dev -o requirements-dev.lock pyproject.toml

# Everything the build, the demo and the tests leave behind (the demo's .env only if it wrote it).
clean:
	rm -rf $(VENV) .demo staticfiles .pytest_cache .ruff_cache .hypothesis .mypy_cache \
		tests/e2e/js/node_modules build dist *.egg-info test-results
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
	if [ -f .env ] && grep -q '^# Written by `make demo`' .env; then rm .env; fi
