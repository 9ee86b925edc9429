"""``actviz shape``: an activation shaped for a deep vanilla MLP by DKS (Martens et
al. 2021) or TAT (Zhang et al. 2022), φ̂(x) = γ·(φ(α·x + β) + δ).

solve.py finds the parameters and the maps they give, code.py turns them into
an ``nn.Module`` and a snippet, figure.py draws them, report.py writes the
table and the figure file.
"""

from actviz.depth.shape.solve import Refusal, Shaped, ShapeSurvey, shape, shape_all

__all__ = ["Refusal", "ShapeSurvey", "Shaped", "shape", "shape_all"]
