# Two entry points (see README): `make demo` and `make test`.
# Both create .venv and install through constraints.txt, which pins torch to
# the CPU wheel; an unpinned torch would pull several GB of CUDA packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/actviz export --all --out outputs
	$(BIN)/actviz plot relu sigmoid tanh --out outputs/d2l-trio.png
	$(BIN)/actviz saturation --all

lint: $(VENV)/.installed-test
	$(BIN)/ruff check actviz tests bench
	$(BIN)/ruff format --check actviz tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	MPLBACKEND=Agg $(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/export.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
