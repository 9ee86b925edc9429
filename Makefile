# Two entry points (see README): `make demo` and `make test`.
# Both create .venv and install through constraints.txt, which pins torch to
# the CPU wheel; an unpinned torch would pull several GB of CUDA packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint typecheck pytest bench clean graphviz tmux

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

# `actviz graph` renders SVG/PNG with Graphviz's dot; without it, it writes .dot
# files only. Best effort: root on a Debian-like machine installs it, anything
# else carries on.
graphviz:
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) \
	  >/dev/null 2>&1; } || echo "note: Graphviz is not installed; actviz graph writes .dot files only"

# tests/test_terminal.py drives `actviz plot --term` in a real terminal through
# tmux (its tmux tests skip without it). Best effort, as for Graphviz.
tmux:
	@command -v tmux >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux) \
	  >/dev/null 2>&1; } || echo "note: tmux is not installed; the terminal-plot tmux tests skip"

demo: $(VENV)/.installed graphviz
	$(BIN)/actviz export --all --out outputs
	$(BIN)/actviz plot relu sigmoid tanh --out outputs/d2l-trio.png
	$(BIN)/actviz saturation --all

lint: $(VENV)/.installed-test
	$(BIN)/ruff check actviz tests bench
	$(BIN)/ruff format --check actviz tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test graphviz tmux
	MPLBACKEND=Agg $(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/export.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
