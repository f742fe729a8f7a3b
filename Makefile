# Fresh-machine targets: each creates .venv on first use and installs redoxmap into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The napari plugin's tests open real viewers: under a virtual X display where xvfb-run exists.
XVFB := $(shell command -v xvfb-run >/dev/null 2>&1 && echo xvfb-run -a)

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
	$(BIN)/redoxmap demo --output demo-output

test: $(VENV)/.installed-test
	$(XVFB) $(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_lincomb.py
	$(BIN)/python benchmarks/bench_tomo.py
	$(BIN)/python benchmarks/bench_xrd_fit.py
	$(BIN)/python benchmarks/bench_experiment.py
	$(BIN)/python benchmarks/bench_scale.py

# Regenerates the stored reference numbers in tests/data with PyBaMM, Larch and pymatgen (heavy; not
# needed by make test).
validate: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[validate]"
	PYBAMM_DISABLE_TELEMETRY=true $(BIN)/python scripts/validate_gitt_pybamm.py
	PYBAMM_DISABLE_TELEMETRY=true $(BIN)/python scripts/validate_mechanics_pybamm.py
	$(BIN)/python scripts/validate_larch.py
	$(BIN)/python scripts/validate_xrd_pymatgen.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) demo-output
