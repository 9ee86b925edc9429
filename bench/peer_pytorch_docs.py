"""The peer ``actviz export --all`` is measured against: the PyTorch docs' way.

PyTorch's documentation drew its activation images with a short script
(docs/source/scripts/build_activation_images.py): pylab, one value-only PNG per
activation module over ``arange(-7, 7, 0.01)``, gridded, titled, labelled and
clipped to [-7, 7] on both axes, saved at matplotlib's defaults. This rebuilds it
from that description, standalone (no actviz code runs): the 22 modules that need
no arguments, i.e. every activation actviz registers but Threshold.

    python bench/peer_pytorch_docs.py OUT
"""

import sys

import matplotlib
import torch

matplotlib.use("Agg")
import pylab  # type: ignore[import-untyped]  # after choosing the backend, as the docs script does

MODULES = (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
    "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "Sigmoid", "Tanh", "Softplus",
    "Softsign", "Softshrink", "Hardshrink", "Tanhshrink", "LogSigmoid",
)  # fmt: skip


def main(out: str) -> None:
    for name in MODULES:
        module = getattr(torch.nn, name)()
        x = torch.arange(-7.0, 7.0, 0.01)
        pylab.clf()
        pylab.grid(color="k", alpha=0.2, linestyle="--")
        pylab.plot(x.numpy(), module(x).detach().numpy())
        pylab.title(name)
        pylab.xlabel("Input")
        pylab.ylabel("Output")
        pylab.xlim([-7, 7])
        pylab.ylim([-7, 7])
        pylab.savefig(f"{out}/{name}.png")


if __name__ == "__main__":
    main(sys.argv[1])
