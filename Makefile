# Fresh-machine targets: each creates .venv on first use and installs redoxmap into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint validate clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/redoxmap demo --out demo-output

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_lincomb.py
	$(BIN)/python benchmarks/bench_tomo.py

# Regenerates the stored references in tests/data with PyBaMM and Larch (heavy; not needed by make test).
validate: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[validate]"
	PYBAMM_DISABLE_TELEMETRY=true $(BIN)/python scripts/validate_gitt_pybamm.py
	PYBAMM_DISABLE_TELEMETRY=true $(BIN)/python scripts/validate_mechanics_pybamm.py
	$(BIN)/python scripts/validate_larch.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) demo-output
