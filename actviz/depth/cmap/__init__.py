"""``actviz cmap``: the correlation map C(c) of mean-field theory, what one layer
(and L layers) does to the correlation of two inputs.

kernel.py computes it (quadrature), figure.py draws it, report.py writes the
table and the figure file.
"""

from actviz.depth.cmap.kernel import CorrelationMap, cmap, correlation_map

__all__ = ["CorrelationMap", "cmap", "correlation_map"]
