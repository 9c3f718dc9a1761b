"""``F.pad``: PyTorch's padding, with its order: (left, right) of the last dim first, then of the
one before it, and so on.

minigrad has no ``mg.pad``: PyTorch has no ``torch.pad``, and numpy's ``pad`` (one pair per
axis, first axis first) would read the same arguments in the other order.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import OpError, ShapeError
from ..functions import add, as_tensor
from ..primitive import apply
from ..tensor import Tensor

# PyTorch's modes, and numpy's names for the same index patterns.
_INDEX_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _widths(pad, x: Tensor) -> list[tuple[int, int]]:
    """One (before, after) pair per dim of ``x``, from PyTorch's flat last-dim-first ``pad``."""
    try:
        flat = [int(p) for p in pad]
        ok = all(isinstance(p, int | np.integer) and not isinstance(p, bool) for p in pad)
    except TypeError:
        ok = False
    if not ok or len(flat) % 2 or len(flat) > 2 * x.ndim:
        raise ShapeError(
            f"pad: pad={pad!r} for a tensor of shape {x.shape}: give an even number of ints, "
            f"at most two per dim, as (left, right) of the last dim, then (top, bottom) of the "
            f"one before it, ..."
        )
    pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)][::-1]
    return [(0, 0)] * (x.ndim - len(pairs)) + pairs


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """``input`` padded by ``pad`` = (left, right) for the last dim, then (left, right) for the
    one before it, and so on (as many dims as pairs). A negative width crops.

    Modes: "constant" (``value``, default 0), "reflect" (mirrored without repeating the edge),
    "replicate" (the edge repeated), "circular" (wrapped around). PyTorch limits the last three
    to the trailing 1-3 dims of batched inputs; minigrad pads any dims. Gradients flow to
    ``input`` in every mode.
    """
    x = as_tensor(input)
    widths = _widths(pad, x)
    if any(a < 0 or b < 0 for a, b in widths):
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))
        if any(s.start > s.stop for s in crop):
            raise ShapeError(f"pad: negative pad {tuple(pad)} crops more than the shape {x.shape}")
        x = x[crop]
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    if mode == "constant":
        if not any(a or b for a, b in widths):
            return x
        shape = tuple(int(n + a + b) for n, (a, b) in zip(x.shape, widths))
        inside = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, widths))
        out = apply(ops.ScatterAdd, x, index=inside, shape=shape)
        if not value:
            return out
        border = np.full(shape, value, dtype=x.dtype)
        border[inside] = 0
        return add(out, border)
    if mode not in _INDEX_MODES:
        raise OpError(
            f"pad: mode {mode!r} is not one of 'constant', 'reflect', 'replicate', 'circular'"
        )
    if value:
        raise OpError(f"pad: value={value!r} is only for mode='constant', not {mode!r}")
    for d, (n, (a, b)) in enumerate(zip(x.shape, widths)):
        if not (a or b):
            continue
        fits = {"reflect": max(a, b) < n, "replicate": n > 0, "circular": max(a, b) <= n}
        if not fits[mode]:
            raise ShapeError(
                f"pad: {mode} padding ({a}, {b}) does not fit dim {d} of size {n} (input of shape "
                f"{x.shape}): reflect needs pads smaller than the size, circular at most the "
                f"size, replicate a non-empty dim"
            )
        x = x[(slice(None),) * d + (np.pad(np.arange(n), (a, b), mode=_INDEX_MODES[mode]),)]
    return x
