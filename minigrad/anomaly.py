"""Finding where a NaN or Inf first appears (``mg.detect_anomaly()``): the checks and messages.

``autodiff`` calls these on every result while the mode is on.
"""

from __future__ import annotations

import os
import traceback

import numpy as np

from .errors import MinigradError

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(MinigradError, RuntimeError):
    """An operation produced NaN or Inf under ``mg.detect_anomaly()``."""


def finite(data: np.ndarray) -> bool:
    return data.dtype.kind not in "fc" or bool(np.isfinite(data).all())


def user_line() -> str:
    """``file:line (code)`` of the innermost stack frame outside minigrad."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE):
            return f"{frame.filename}:{frame.lineno} ({(frame.line or '').strip()})"
    return "unknown"


def stats(data: np.ndarray) -> str:
    """Shape, dtype and a summary of values, with counts of NaN and Inf."""
    text = f"shape {data.shape} {data.dtype}"
    if data.dtype.kind not in "fc" or data.size == 0:
        return text
    values = np.real(data)
    nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    ok = values[np.isfinite(values)]
    if ok.size:
        text += f", min {ok.min():.4g}, max {ok.max():.4g}, mean {ok.mean():.4g}"
    return text + (f", {nan} NaN" if nan else "") + (f", {inf} Inf" if inf else "")


def describe(op: str, xs, result: np.ndarray, origin: str | None, backward: bool = False) -> str:
    stage = f"the backward pass of {op}" if backward else op
    lines = [f"detect_anomaly: {stage} produced NaN or Inf ({stats(result)})"]
    lines += [f"  input {i}: {stats(x.data)}" for i, x in enumerate(xs)]
    lines.append(f"  created at {origin or 'unknown (made outside detect_anomaly)'}")
    return "\n".join(lines)


def check_cotangents(node, parents, cotangents) -> None:
    """Raise if a backward step produced a non-finite cotangent for one of its inputs."""
    for p, g in zip(parents, cotangents):
        if g is None or not p.requires_grad:
            continue
        data = g if isinstance(g, np.ndarray | np.generic) else g.data  # an array, or a Tensor
        if not finite(data):
            raise AnomalyError(describe(node.prim.__name__, parents, data, node.origin, True))
