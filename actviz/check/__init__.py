"""Checking torch's activations against exact references: the ``check`` command.

* :mod:`actviz.check.verify`: f, f′ and f″ of every dtype against the references;
* :mod:`actviz.check.reference`: 50-digit references of the registered activations;
* :mod:`actviz.check.numeric_reference`: the reference of your own ``module:callable``
  (Ridders' method on your float64 f);
* :mod:`actviz.check.expression_reference`: the reference of a ``--reference`` formula;
* :mod:`actviz.check.baseline`: a recorded run and the verdict against it;
* :mod:`actviz.check.report`: the tables and JSON the command prints.
"""
