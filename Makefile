# regiohub — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Debian packages: gettext to compile translations (run and test); Chromium for the
# browser tests; poppler's pdfsig and SoftHSM2 for the letters' seals (a PKCS#11 token).
# Installed once when missing.
RUN_PACKAGES := gettext
TEST_PACKAGES := gettext chromium chromium-driver poppler-utils softhsm2
PG_URL ?= postgres://postgres@127.0.0.1:5432/regiohub_ci
PYTEST_ARGS ?=


.PHONY: fuzz soak venv system system-test run test test-postgres lint format typecheck openapi messages bench-deps bench bench-smoke clean ci

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

system:
	$(call apt_ensure,$(RUN_PACKAGES))

system-test:
	$(call apt_ensure,$(TEST_PACKAGES))

messages: venv system
	cd regiohub && ../$(BIN)/regiohub compilemessages -v 0

## make run: the product on its embedded defaults (SQLite) with the demo region, on :8000
run: venv system messages
	$(BIN)/regiohub demo
	$(BIN)/regiohub serve --bind 127.0.0.1:8000 --with-worker --with-demo-services

## make test: lint, type check and the whole suite on SQLite (browser and end-to-end tests
## included)
test: venv system-test messages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/regiohub makemigrations --check --dry-run -v 0
	$(BIN)/pytest -n auto -p no:randomly $(PYTEST_ARGS)

## make test-postgres: the same suite against the local PostgreSQL server
test-postgres: venv system-test messages
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 --create-db $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make typecheck: mypy with the Django and DRF stubs, on what [tool.mypy] lists (core)
typecheck: venv
	$(BIN)/mypy

## make openapi: regenerate docs/openapi.yaml, the committed description of the REST API
## (in English; a test fails when it differs from what the code generates)
## make fuzz: schemathesis over every documented endpoint, longer than in make test
fuzz: venv messages
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(BIN)/pytest -p no:randomly -n auto tests/test_api_fuzz.py

## make soak: tests/test_kill_soak.py, workers killed at random moments, 20 iterations in a
## row (2 in make test), and 2,000 letters delivered exactly once through killed workers (500
## in make test); -rP prints each run's line and the totals
soak: venv system-test messages
	SOAK_ITERATIONS=$${SOAK_ITERATIONS:-20} $(BIN)/pytest -p no:randomly -rP -m slow tests/test_kill_soak.py
	DOCUMENTS_KILL_LETTERS=$${DOCUMENTS_KILL_LETTERS:-2000} $(BIN)/pytest -p no:randomly -rP -m slow regiohub/documents/tests/test_killed_worker.py

openapi: venv messages
	$(BIN)/regiohub spectacular --lang en --validate --fail-on-warn --file docs/openapi.yaml

# What the benchmarks compare against (the `bench` extra, e.g. Datasette), installed once
# per pyproject.toml like the venv (the venv's rule removes this stamp too).
BENCH_STAMP := $(STAMP)-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $@

bench-deps: $(BENCH_STAMP)

## make bench: every benchmark under bench/, full size (not run in CI)
bench: venv bench-deps system messages
	@for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

## make bench-smoke: the benchmarks at tiny sizes, to prove they run
bench-smoke: venv bench-deps system messages
	@for f in bench/[!_]*.py; do echo "== $$f"; BENCH_SMOKE=1 $(BIN)/python $$f || exit 1; done

ci: test test-postgres bench-smoke

clean:
	rm -rf $(VENV) var
