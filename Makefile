# Two set-up commands (see README): `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ctxrisk-installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Build the environment and run the main job on the bundled samples; everything goes to output/.
demo: $(STAMP)
	$(BIN)/ctxrisk --log-level INFO run --config config/demo.toml

# Run the whole test suite (CI calls this through .ci/run).
test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf output .pytest_cache
