# Two entry points (see README): `make demo` and `make test`; `make docs` builds docs/.
# Both create .venv and install through constraints.txt, which pins torch to
# the CPU wheel; an unpinned torch would pull several GB of CUDA packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint typecheck pytest bench clean docs graphviz chromium tmux explore-png

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

# tests/test_gallery_browser.py opens the gallery in headless Chromium. Best
# effort as for Graphviz: without it that test is skipped, saying why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1; } || echo "note: Chromium is not installed; the gallery browser test is skipped"

# tests/test_terminal.py drives `actviz plot --term` in a real terminal through
# tmux (its tmux tests skip without it). Best effort, as for Graphviz.
tmux:
	@command -v tmux >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux) \
	  >/dev/null 2>&1; } || echo "note: tmux is not installed; the terminal-plot tmux tests skip"

demo: $(VENV)/.installed graphviz
	$(BIN)/actviz explore --all --out outputs/explore.html
	$(BIN)/actviz export --all --out outputs
	$(BIN)/actviz plot relu sigmoid tanh --out outputs/d2l-trio.png
	$(BIN)/actviz saturation --all
	$(BIN)/actviz depth sigmoid tanh relu gelu --layers 30 --out outputs/depth-sigmoid_tanh_relu_gelu.png
	$(BIN)/actviz gain --all
	$(BIN)/actviz gain tanh selu relu gelu sigmoid --plot --out-dir outputs
	$(BIN)/actviz cmap relu tanh gelu sigmoid --layers 20 --out outputs/cmap-relu_tanh_gelu_sigmoid.png
	$(BIN)/actviz shape tanh gelu softplus sigmoid --depth 100 --out outputs/shape-dks-tanh_gelu_softplus_sigmoid.png
	$(BIN)/actviz depth tanh leaky_relu --shape tat --layers 100 --out outputs/depth-shaped-tanh_leaky_relu.png

# The README's screenshot of the explorer page that `make demo` writes (chromium and
# the test extra's playwright; without them it says so and writes nothing).
explore-png: $(VENV)/.installed-test chromium
	$(BIN)/python examples/explore_screenshot.py outputs/explore.html outputs/explore.png

lint: $(VENV)/.installed-test
	$(BIN)/ruff check actviz tests bench docs/hooks.py
	$(BIN)/ruff format --check actviz tests bench docs/hooks.py

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# -n auto: one worker per core (pytest-xdist); tests/test_routes.py reruns the
# route-dependent checks under other kernel routes in subprocesses.
pytest: $(VENV)/.installed-test graphviz chromium tmux
	MPLBACKEND=Agg $(BIN)/pytest -q -n auto

test: lint typecheck pytest

# Each against its floor (see docs/performance.md); shape skips until it exists.
bench: $(VENV)/.installed
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/depth.py
	$(BIN)/python bench/gain.py
	$(BIN)/python bench/check.py
	$(BIN)/python bench/cmap.py
	$(BIN)/python bench/shape.py
	$(BIN)/python bench/threads.py
	$(BIN)/python bench/explore.py

# The CLI reference regenerated from the commands' own --help (cog; `python -m` so
# that this tree's actviz is the one imported), then the site, warnings as errors
# (tests/test_docs.py runs both checks in the suite).
docs: $(VENV)/.installed-test
	$(BIN)/python -m cogapp -r docs/cli.md
	$(BIN)/python -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site
