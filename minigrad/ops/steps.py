"""``Step``: the piecewise-constant functions (floor, ceil, round, trunc, sign).

Their derivative is 0 wherever it exists, and PyTorch gives 0 at the jumps too: the result stays
on the tape (it requires grad when the input does) and sends zeros back, so ``x.round()`` in a
loss does not cut the graph, as in PyTorch.
"""

import numpy as np

from ..primitive import Primitive, apply

FUNCTIONS = {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "sign": np.sign}


class Step(Primitive):
    """``fn`` (a name of ``FUNCTIONS``, or ``"round"`` to ``decimals`` places, half to even)
    applied elementwise; every derivative is 0."""

    uses = ()

    @staticmethod
    def batch(xs, dims, fn, decimals=0):
        return apply(Step, xs[0], fn=fn, decimals=decimals)

    @staticmethod
    def forward(x, fn, decimals=0):
        return np.round(x, decimals) if fn == "round" else FUNCTIONS[fn](x)

    @staticmethod
    def vjp(g, y, x, fn, decimals, xp):
        return (xp.broadcast_to(np.zeros((), x.dtype), x.shape),)

    @staticmethod
    def jvp(ts, y, x, fn, decimals):
        return np.zeros((ts[0].shape[0],) + y.shape, y.dtype)
