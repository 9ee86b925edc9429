"""The defaults every command and library function shares, in one place.

Light on purpose (no torch, numpy or matplotlib): cli.py reads these at start-up
for its option defaults and --help.
"""

from typing import Final

# d2l's grid: torch.arange(-8.0, 8.0, 0.1), the seed notebook's x.
DEFAULT_START, DEFAULT_STOP, DEFAULT_STEP = -8.0, 8.0, 0.1
DEFAULT_RANGE = (DEFAULT_START, DEFAULT_STOP)
# Saturated: |f′| below this fraction of the activation's own peak |f′|.
DEFAULT_EPS = 0.01
DEFAULT_DPI = 150
# Where every command that writes files puts them unless told (--out, --out-dir, out_dir=).
DEFAULT_OUT_DIR = "outputs"
# The image formats a figure can be saved in (matplotlib's backends for them).
IMAGE_FORMATS: Final = ("png", "svg", "pdf")
# Figures shown in Jupyter, whose pixels it shows 1:1: an activation figure (two or three
# 4.8-inch panels) at 100 dpi; the depth figure is 15 inches wide, and fits a notebook
# column only at 72 dpi.
NOTEBOOK_DPI = 100
NOTEBOOK_WIDE_DPI = 72
MIN_DPI, MAX_DPI = 10, 1200  # what a figure may be drawn at (--dpi, dpi=)
# `graph`: a node is saturated where its local derivative is below this.
GRAPH_EPS = 1e-3
# Final: typed as the literal itself, so it fits the CLI's Literal choices.
DEFAULT_DTYPE: Final = "float32"
DEFAULT_THEME: Final = "light"
# `shape`: the targets of DKS (Martens et al. 2021) and TAT (Zhang et al. 2022), their
# papers' defaults: the network's C′(1) = ζ (DKS); its C(0) = η for leaky relu and its
# C″(1) = τ for smooth activations (TAT).
SHAPE_ZETA = 1.5
SHAPE_ETA = 0.9
SHAPE_TAU = 0.3
# `explore`: the range every curve of the page is probed on; the page opens on
# DEFAULT_RANGE inside it, and zooming out shows float16's underflow edges.
EXPLORE_RANGE = (-20.0, 20.0)
EXPLORE_OUT = "outputs/explore.html"  # explore's page where --out is not given
