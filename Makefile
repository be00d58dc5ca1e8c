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

KINDS := persons incidents missing intelligence involvements associations screenings referrals
SHARED_BOUNDARIES := ../shared/data/boundaries
DEMO_CONFIG := $(if $(wildcard $(SHARED_BOUNDARIES)),config/demo-with-boundaries.toml,config/demo.toml)

# Build the environment and run the main job on the bundled samples; everything goes to output/.
# The samples are copied into drop folders (the run moves what it ingests to processed/).
demo: $(STAMP)
	@umask 077; for kind in $(KINDS); do mkdir -p output/drop/$$kind && cp data_samples/$$kind.csv output/drop/$$kind/; done
	$(BIN)/ctxrisk --log-level INFO run --config $(DEMO_CONFIG)

# Lint, then run the whole test suite (CI calls this through .ci/run).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf output .pytest_cache
