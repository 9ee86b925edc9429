"""Deep networks at initialisation: the ``depth``, ``gain``, ``cmap`` and ``shape`` commands.

* :mod:`actviz.depth.gain`: gains and mean field (``actviz gain``): χ₁, q*, the
  edge of chaos, by Gauss–Hermite quadrature;
* :mod:`actviz.depth.simulation`: a real MLP layer by layer (``actviz depth``),
  :func:`~actviz.depth.simulation.simulate`;
* :mod:`actviz.depth.plots` and :mod:`actviz.depth.tables`: its figures and tables;
* :mod:`actviz.depth.cmap`: the correlation map C(c) (``actviz cmap``);
* :mod:`actviz.depth.shape`: activations shaped for depth, DKS and TAT (``actviz shape``).

Importing this package imports nothing heavy; each module imports torch or
matplotlib inside the functions that need them.
"""
