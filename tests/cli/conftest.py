"""The command-line tests run in a fresh working folder that holds the user modules
their error cases import (activations that return NaN, raise, exit, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import UserModules

USER_MODULE = """
import torch

def nan(x):
    return x * float("nan")

def inf(x):
    return torch.where(x > 0, x / 0.0, x)

def complex_out(x):
    return x * (1 + 1j)

def raiser(x):
    raise ValueError("boom")

def not_a_tensor(x):
    return [1.0]

def detached(x):
    return torch.tanh(x).detach()

def reducer(x):
    return x.sum()
"""

EDGE_MODULE = """import sys, torch
def sysexit(x):
    sys.exit(3)
def multiline(x):
    raise ValueError("line1\\nline2\\nline3")
def gradconst(x):
    return torch.ones_like(x, requires_grad=True)
"""


@pytest.fixture()
def in_tmp(user_modules: UserModules) -> Path:
    """A fresh working folder (the current one) with the user modules ``h9acts``,
    ``h9syntax``, ``h9raises``, ``h9exits`` and ``edgeacts``."""
    return user_modules(
        h9acts=USER_MODULE,
        h9syntax="def f(x:\n    return x\n",
        h9raises="raise RuntimeError('not today')\n",
        h9exits="import sys\nsys.exit(3)\n",
        edgeacts=EDGE_MODULE,
    )
