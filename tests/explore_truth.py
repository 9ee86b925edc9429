"""Independent truth for the explorer page: plain torch (torch.nn.functional, no
actviz code) on the page's own samples, and a decoder of the page written from
its documented layout, not from actviz/explore/page.py.

Used by tests/test_explore.py and tests/test_explore_browser.py.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

F = torch.nn.functional
Function = Callable[[torch.Tensor, Mapping[str, Any]], torch.Tensor]

# Every registered activation through torch.nn.functional, its parameters passed as
# torch's own keywords (rrelu in eval mode: training=False).
FUNCTIONS: dict[str, Function] = {
    "relu": lambda x, p: F.relu(x),
    "relu6": lambda x, p: F.relu6(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, p["negative_slope"]),
    # nn.PReLU keeps its slope in a float32 Parameter, then .to(dtype)
    "prelu": lambda x, p: F.prelu(x, torch.tensor([p["init"]], dtype=torch.float32).to(x.dtype)),
    "rrelu": lambda x, p: F.rrelu(x, p["lower"], p["upper"], training=False),
    "elu": lambda x, p: F.elu(x, p["alpha"]),
    "selu": lambda x, p: F.selu(x),
    "celu": lambda x, p: F.celu(x, p["alpha"]),
    "gelu": lambda x, p: F.gelu(x, approximate=p["approximate"]),
    "silu": lambda x, p: F.silu(x),
    "mish": lambda x, p: F.mish(x),
    "hardswish": lambda x, p: F.hardswish(x),
    "hardsigmoid": lambda x, p: F.hardsigmoid(x),
    "hardtanh": lambda x, p: F.hardtanh(x, p["min_val"], p["max_val"]),
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "tanh": lambda x, p: torch.tanh(x),
    "softplus": lambda x, p: F.softplus(x, p["beta"], p["threshold"]),
    "softsign": lambda x, p: F.softsign(x),
    "softshrink": lambda x, p: F.softshrink(x, p["lambd"]),
    "hardshrink": lambda x, p: F.hardshrink(x, p["lambd"]),
    "tanhshrink": lambda x, p: F.tanhshrink(x),
    "logsigmoid": lambda x, p: F.logsigmoid(x),
    "threshold": lambda x, p: F.threshold(x, p["threshold"], p["value"]),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def torch_values(
    name: str, params: Mapping[str, Any], x: np.ndarray, dtype: str, *, second: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f, f′ and f″ at ``x`` (values of ``dtype``) from plain torch, as float64 (f″ 0
    without ``second``: torch has no double backward for some piecewise-linear ones).

    The same kernel route as a probe's (one contiguous tensor padded with copies of
    its last element so that no sample falls in a vector tail, one intra-op thread):
    then torch's own bits are what a correct page holds, on any CPU.
    """
    function = FUNCTIONS[name]
    n = len(x)
    base = torch.from_numpy(np.array(x, dtype=np.float64)).to(DTYPES[dtype])
    padded = torch.cat([base, base[-1:].expand(64 - n % 64 + 64)])
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        leaf = padded.clone().requires_grad_(True)
        y = function(leaf, params)
        (grad,) = torch.autograd.grad(y, leaf, torch.ones_like(y))
        curvature = torch.zeros_like(padded)
        leaf2 = padded.clone().requires_grad_(True)
        (first,) = torch.autograd.grad(
            function(leaf2, params), leaf2, torch.ones_like(leaf2), create_graph=second
        )
        if second and first.requires_grad:
            (found,) = torch.autograd.grad(first, leaf2, torch.ones_like(first), allow_unused=True)
            curvature = curvature if found is None else found
    finally:
        torch.set_num_threads(previous)
    return tuple(  # type: ignore[return-value]
        t[:n].detach().to(torch.float64).numpy() for t in (y, grad, curvature)
    )


def page_payload(page: str) -> bytes:
    """The gzip block an explorer page (or notebook fragment) carries."""
    found = re.search(
        r'<script type="application/octet-stream" class="ax-data">([A-Za-z0-9+/=\s]*)</script>',
        page,
    )
    assert found, "no data block in the page"
    return base64.b64decode(found.group(1))


def decode(payload: bytes) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """(manifest, float32 samples, regime codes): a little-endian u32 length, the JSON
    manifest, ``floats`` float32 values as four byte planes, then ``codes`` bytes."""
    raw = gzip.decompress(payload)
    (length,) = struct.unpack("<I", raw[:4])
    manifest: dict[str, Any] = json.loads(raw[4 : 4 + length].decode())
    count = manifest["floats"]
    body = np.frombuffer(raw, dtype=np.uint8)[4 + length :]
    floats = body[: 4 * count].reshape(4, count).T.copy().view("<f4").ravel()
    codes = body[4 * count : 4 * count + manifest["codes"]]
    return manifest, floats, codes


def encode(manifest: dict[str, Any], floats: np.ndarray, codes: np.ndarray) -> bytes:
    """The inverse of :func:`decode` (to inject wrong numbers into a page)."""
    text = json.dumps(manifest, separators=(",", ":")).encode()
    planes = np.asarray(floats, "<f4").view(np.uint8).reshape(-1, 4).T.tobytes()
    return gzip.compress(struct.pack("<I", len(text)) + text + planes + codes.tobytes(), mtime=0)


def with_payload(page: str, payload: bytes) -> str:
    """``page`` carrying ``payload`` instead of its own numbers."""
    block = base64.b64encode(payload).decode()
    return re.sub(
        r'(<script type="application/octet-stream" class="ax-data">)[^<]*(</script>)',
        lambda m: m.group(1) + block + m.group(2),
        page,
        count=1,
    )


def curve_arrays(
    curve: Mapping[str, Any], floats: np.ndarray, codes: np.ndarray
) -> dict[str, np.ndarray | None]:
    """One decoded curve's samples (x, y, g, g2 as float64; r as codes)."""
    n = curve["n"]

    def part(key: str) -> np.ndarray | None:
        at = curve[key]
        return None if at is None else floats[at : at + n].astype(np.float64)

    return {
        "x": part("x"),
        "y": part("y"),
        "g": part("g"),
        "g2": part("g2"),
        "r": codes[curve["r"] : curve["r"] + n],
    }
