"""How small an error in a custom backward ``actviz check`` catches (run by hand).

A custom ``torch.autograd.Function`` computes tanh, and its backward returns
tanh′ × (1 + r) for relative errors r = 1e-4 … 1e-16. Each is checked in
float64 and float32, against the numeric reference (differences of its own
float64 f) and against ``--reference "tanh(x)"`` (50 digits), and the table
says which fail and at how many samples. The detection limit is the smallest
r that fails. Run: ``python bench/check_teeth.py``.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from pathlib import Path

MODULE = textwrap.dedent(
    """
    import torch

    def tanh_off(r):
        class Tanh(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return torch.tanh(x)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                y = torch.tanh(x)
                return g * (1 - y * y) * (1 + r)

        return Tanh.apply
    """
)
ERRORS = [10.0**-k for k in range(4, 17)]


def main() -> None:
    from actviz import custom, registry
    from actviz.check import verify

    folder = Path(tempfile.mkdtemp())
    lines = [f"r_{k} = tanh_off({r!r})" for k, r in enumerate(ERRORS)]
    (folder / "teethbench.py").write_text(MODULE + "\n".join(lines) + "\n")
    custom.set_module_folder(str(folder))
    print(f"{'r':>8}  {'float64 numeric':>16}  {'float64 exact':>14}  "
          f"{'float32 numeric':>16}  {'float32 exact':>14}")  # fmt: skip
    for k, r in enumerate(ERRORS):
        target = registry.spec(f"teethbench:r_{k}")
        cells = []
        for formula in (None, "tanh(x)"):
            check = verify.verify(target, ["float64", "float32"], formula=formula)
            cells.append([len(d.orders[1].wrong) for d in check.dtypes])
        row = [cells[0][0], cells[1][0], cells[0][1], cells[1][1]]
        print(f"{r:>8.0e}  " + "  ".join(
            f"{'FAIL' if n else 'pass':>5} {n:>3} x{'':>5}" for n in row))  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
