# The two commands of the README: `make demo` runs Seamline's demo on the embedded SQLite default,
# `make test` runs the test suite. Both create the virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# PostgreSQL/NATS for the integration tests; override to point elsewhere.
export SEAMLINE_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export SEAMLINE_TEST_NATS_URL ?= nats://127.0.0.1:4222

.PHONY: demo test lint serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/seamline demo

test: $(STAMP)
	$(BIN)/pytest -n 2  # two worker processes: each makes its own PostgreSQL database and SQLite files

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

serve: $(STAMP)
	$(BIN)/seamline serve

bench: $(STAMP)
	$(BIN)/python bench/reserve.py

clean:
	rm -rf $(VENV) seamline.db seamline.db-wal seamline.db-shm
