# The two commands a new user needs: `make run` and `make test`. Both start from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
# `make run PORT=8080` serves there; the links in notifications follow (SITE_URL's default).
PORT ?= 8000
export PORT
PYTEST_ARGS ?=
# The suite runs in parallel processes (pytest-xdist), each with its own test database;
# TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 4
# Every install takes its versions from this file, so a fresh clone gets what CI tested.
# `make lock` re-resolves it on purpose (after a change to pyproject.toml); `make lock-upgrade`
# moves every pin to the newest release the ranges in pyproject.toml allow.
CONSTRAINTS := requirements/constraints.txt

.PHONY: setup setup-dev run test lint check-deploy clean bench lock lock-upgrade \
	prometheus-mcp lock-prometheus-mcp oidc-provider lock-oidc-provider

# What running needs (`make run`), then the test tooling and linters on top (`make test`,
# `make lint`, the replay's extras). Each stamp is redone when the dependencies change.
RUN_DEPS := $(VENV)/.run-deps
DEV_DEPS := $(VENV)/.dev-deps
$(RUN_DEPS): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e .
	touch $@
$(DEV_DEPS): $(RUN_DEPS)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	--quiet -o $(CONSTRAINTS)
lock: $(DEV_DEPS)
	$(BIN)/pip install --quiet "uv>=0.13,<0.14"
	$(UV_COMPILE)
lock-upgrade: $(DEV_DEPS)
	$(BIN)/pip install --quiet "uv>=0.13,<0.14"
	$(UV_COMPILE) --upgrade

# The third-party Prometheus MCP server (PyPI's prometheus-mcp-server), unmodified, in a
# virtualenv of its own: exact versions and hashes from requirements/prometheus-mcp.txt, so
# a fresh clone runs what CI tested. Its python-dotenv loads the first .env found walking up
# from its own files: the empty one laid beside it stops the walk before the project's .env.
# `make lock-prometheus-mcp` re-resolves the pins after editing requirements/prometheus-mcp.in.
PROMETHEUS_MCP_DIR := var/prometheus-mcp
PROMETHEUS_MCP_REQS := requirements/prometheus-mcp.txt
PROMETHEUS_MCP_STAMP := $(PROMETHEUS_MCP_DIR)/.installed
$(PROMETHEUS_MCP_STAMP): $(PROMETHEUS_MCP_REQS)
	rm -rf $(PROMETHEUS_MCP_DIR)
	$(PYTHON) -m venv $(PROMETHEUS_MCP_DIR)
	echo "# Empty on purpose: the server's python-dotenv stops here." > $(PROMETHEUS_MCP_DIR)/.env
	$(PROMETHEUS_MCP_DIR)/bin/pip install --quiet --upgrade pip
	$(PROMETHEUS_MCP_DIR)/bin/pip install --quiet --require-hashes --no-deps -r $(PROMETHEUS_MCP_REQS)
	$(PROMETHEUS_MCP_DIR)/bin/pip check
	touch $@
prometheus-mcp: $(PROMETHEUS_MCP_STAMP)
lock-prometheus-mcp: $(DEV_DEPS)
	$(BIN)/pip install --quiet "uv>=0.13,<0.14"
	$(BIN)/uv pip compile requirements/prometheus-mcp.in --generate-hashes --universal \
	  --python-version 3.11 --quiet -o $(PROMETHEUS_MCP_REQS)

# The published OpenID provider the sign-in tests run (npm's oidc-provider), unmodified, in a
# folder of its own: the exact versions and integrity hashes of
# requirements/oidc-provider/package-lock.json (`npm ci`, no install scripts), so a fresh
# clone runs what CI tested. Its start-up script is tests/support/oidc_provider.mjs.
# `make lock-oidc-provider` re-resolves the lock after editing its package.json.
OIDC_PROVIDER_DIR := var/oidc-provider
OIDC_PROVIDER_REQS := requirements/oidc-provider
OIDC_PROVIDER_STAMP := $(OIDC_PROVIDER_DIR)/.installed
$(OIDC_PROVIDER_STAMP): $(OIDC_PROVIDER_REQS)/package.json $(OIDC_PROVIDER_REQS)/package-lock.json
	rm -rf $(OIDC_PROVIDER_DIR)
	mkdir -p $(OIDC_PROVIDER_DIR)
	cp $(OIDC_PROVIDER_REQS)/package.json $(OIDC_PROVIDER_REQS)/package-lock.json $(OIDC_PROVIDER_DIR)/
	cd $(OIDC_PROVIDER_DIR) && npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $@
oidc-provider: $(OIDC_PROVIDER_STAMP)
lock-oidc-provider:
	cd $(OIDC_PROVIDER_REQS) && rm -f package-lock.json && npm install --package-lock-only --ignore-scripts

.env:
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" > .env
	@echo "Wrote .env with a generated SECRET_KEY"

setup: $(RUN_DEPS) .env
# The OpenID provider of the sign-in tests comes along where npm is installed (CI installs
# node and npm first); without them those tests skip, saying why.
setup-dev: $(DEV_DEPS) .env prometheus-mcp $(if $(shell command -v npm),oidc-provider)

# Everything on the embedded defaults: SQLite under var/, the local analyzer, demo history.
run: setup
	DEBUG=true $(PY) manage.py migrate --no-input
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py quickstart_admin --host $(HOST) --port $(PORT)
	@trap 'kill $$QPID 2>/dev/null' EXIT INT TERM; \
	  DEBUG=true $(PY) manage.py qcluster & QPID=$$!; \
	  DEBUG=true $(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite (unit, API, concurrency on PostgreSQL, e2e with a real qcluster, fuzzing).
# DATABASE_URL selects the database; the default is SQLite.
test: setup-dev
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	# Under the production settings of the README: no warnings at all.
	DEBUG=false SECURE_SSL_REDIRECT=true SECURE_PROXY_SSL_HEADER=true SECURE_HSTS_SECONDS=31536000 \
	  SECURE_HSTS_INCLUDE_SUBDOMAINS=true SECURE_HSTS_PRELOAD=true \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# The Prometheus files under deploy/: syntax, the alert rules' unit tests, and the lab
# exporter's exposition through promtool's linter. The linter's only accepted complaints are
# about the names the real exporters use (IF-MIB's camelCase and its counters without
# _total, node_exporter's /proc/meminfo fields); docs/investigation.md lists them.
EXPORTER_LINT_ACCEPTED := ^(if(AdminStatus|OperStatus|LastChange|InErrors|OutErrors) ((label|metric) names should be written in .snake_case. not .camelCase.|counter metrics should have ._total. suffix)|node_memory_(MemAvailable|MemTotal|SwapFree|SwapTotal)_bytes metric names should be written in .snake_case. not .camelCase.)$$
check-deploy: setup
	promtool check rules deploy/prometheus/alerts.yml
	promtool check config deploy/prometheus/prometheus.yml
	promtool check config deploy/prometheus/lab-scrape.yml
	promtool test rules deploy/prometheus/alerts_test.yml
	promtool check rules deploy/prometheus/estate.yml
	promtool test rules deploy/prometheus/estate_test.yml
	@set -o pipefail; dir=$$(mktemp -d); \
	  LAB_STATE_PATH=$$dir/lab.sqlite3 $(PY) -m lab exporter --once > $$dir/exposition.txt; \
	  promtool check metrics < $$dir/exposition.txt > $$dir/lint.txt 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then cat $$dir/lint.txt; echo "promtool check metrics: error $$rc"; exit 1; fi; \
	  if grep -Ev '$(EXPORTER_LINT_ACCEPTED)' $$dir/lint.txt; then echo "lab exporter: lint problems above"; exit 1; fi; \
	  echo "lab exporter: $$(grep -c '^# TYPE' $$dir/exposition.txt) families pass promtool check metrics (accepted: $$(sort -u $$dir/lint.txt | wc -l) exporter-name lints)"; \
	  rm -rf $$dir
# Benchmarks on the local PostgreSQL (databases bench_*, re-created): each prints a ratio
# and PASS/FAIL against its target; see bench/README.md. BENCH_LARGE=100000 for a quick run.
BENCH_SMALL ?= 1000
BENCH_LARGE ?= 1000000
BENCH_DB_PREFIX ?= bench_
export BENCH_DB_PREFIX
BENCHMARKS := decision.py ticket_list.py recompute.py recompute_memory.py post.py enqueue_latency.py decision_latency.py "decision_latency.py --prometheus" storm.py drain.py
bench: setup-dev
	$(PY) bench/generate.py --db $(BENCH_DB_PREFIX)small --tickets $(BENCH_SMALL)
	$(PY) bench/generate.py --db $(BENCH_DB_PREFIX)large --tickets $(BENCH_LARGE)
	@fail=0; for b in $(BENCHMARKS); do echo "== bench/$$b"; $(PY) bench/$$b || fail=1; done; exit $$fail

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
