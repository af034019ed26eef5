# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
PORT ?= 5000
HOST ?= 127.0.0.1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := pharmacy

.PHONY: run test lint format bench bench-profile clean-db

# The first install takes a few minutes: each step says what it does and pip shows its progress.
$(STAMP): pyproject.toml
	@echo "==> 1/3 Creating the Python environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> 2/3 Updating pip"
	$(BIN)/pip install --upgrade --progress-bar on pip
	@echo "==> 3/3 Installing the application and its libraries (a few minutes the first time)"
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	touch $(STAMP)
	@echo "==> Installed."

# `make run PORT=8080` serves on another port.
run: $(STAMP)
	@echo "==> Bringing the database up to date"
	$(BIN)/flask db upgrade
	@echo "==> Serving on http://$(HOST):$(PORT)/ (Ctrl+C stops it)"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

# Where each page's time goes, in process, on the dataset `make bench` built (DB=postgresql too).
DB ?= sqlite
bench-profile: $(STAMP)
	$(BIN)/python -m bench.page_profile --db $(DB)

clean-db:
	rm -f instance/pharmacy.db instance/pharmacy.db-wal instance/pharmacy.db-shm
