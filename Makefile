# Two entry points: `make run` (the weekly job on the synthetic demo data) and `make test`.
# Each creates .venv and installs the project first, so a fresh clone needs only Python and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The weekly job on the synthetic demo: ingest the demo panel, log a backtest of the
# benchmarks and the default model to MLflow (a parent run with nested model runs), promote
# its winner to champion by the documented rule (it must beat the current champion on
# crps_log over the same origins and data), then run the weekly job once with that champion
# (refit, forecast, risk, alerts, bulletin, MLflow run).
run: $(STAMP)
	$(BIN)/riskcast demo-data
	$(BIN)/riskcast experiments run experiments/specs/demo.toml --no-progress
	$(BIN)/riskcast experiments promote --best
	$(BIN)/riskcast run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var test-artifacts
