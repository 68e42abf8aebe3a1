# hacienda-ledger — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck imports duplicates check bench demo reset-demo shell clean

# `make run` installs what the service needs (the runtime); `make test` adds the
# development tools (pytest, hypothesis, ruff, mypy, schemathesis, ...).
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## run: install, load the demo into var/hacienda.sqlite3 (first start only), print the demo
## tokens, publish the analytics tables as of yesterday (nothing new if published already at
## this stream position), and serve the API on http://127.0.0.1:8000 (OpenAPI UI at /docs)
run: $(RUNTIME)
	$(BIN)/hacienda-ledger demo --no-journal
	$(BIN)/hacienda-ledger analytics publish
	$(BIN)/hacienda-ledger serve --host 127.0.0.1 --port 8000

## test: install, lint, type-check, check the layers and the repeated code, and run the whole suite
test: $(STAMP) check
	$(BIN)/pytest

check: lint typecheck imports duplicates

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

## duplicates: repeated code in src/ may not grow past .ci/duplicates-ceiling (docs/architecture.md)
duplicates:
	.ci/duplicates

bench: $(STAMP)
	$(BIN)/python -m bench

## reset-demo: forget the demo database (var/hacienda.sqlite3); the next `make run` loads it
## again. The attestation key (var/attestation-key.pem) is kept.
reset-demo:
	rm -f var/hacienda.sqlite3 var/hacienda.sqlite3-wal var/hacienda.sqlite3-shm

## shell: a shell with .venv/bin (hacienda-ledger, python) first on PATH
shell: $(RUNTIME)
	@echo "hacienda-ledger is on PATH in this shell; 'exit' to leave it"
	@PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" $${SHELL:-/bin/sh}

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
