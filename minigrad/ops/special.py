"""Special functions: ``Erf`` (the error function, which the exact GELU needs) and the tanh
approximation of the GELU, ``GeluTanh``."""

import math

import numpy as np

from .elementwise import Elementwise

_erf = np.frompyfunc(math.erf, 1, 1)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Elementwise):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, exact to double precision.

    d/dx erf(x) = 2/sqrt(pi) * exp(-x^2). Integer inputs give float64, as numpy's ufuncs do.
    """

    # NOTE: erf extends to an entire function, but math.erf takes real arguments only.
    holomorphic = False

    @staticmethod
    def forward(x):
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"erf takes real numbers, got dtype {x.dtype}")
        # NOTE: numpy has no erf; math.erf element by element is exact and ~50 ns per element.
        return np.asarray(_erf(x), dtype=dtype)

    @staticmethod
    def partial(i, y, x, xp):
        return _TWO_OVER_SQRT_PI * xp.exp(-(x * x))


_TANH_GELU_SCALE = math.sqrt(2.0 / math.pi)
_TANH_GELU_CUBIC = 0.044715


class GeluTanh(Elementwise):
    """The tanh approximation of the GELU (GPT-2's, PyTorch's ``approximate="tanh"``):
    ``y = x (1 + tanh(u)) / 2`` with ``u = sqrt(2/pi) (x + 0.044715 x^3)``.

    dy/dx = (1 + t) / 2 + x (1 - t^2) u' / 2, t = tanh(u), u' = sqrt(2/pi) (1 + 3 * 0.044715
    x^2). As a composite it is nine operations forward and more backward over a transformer
    MLP's largest activations: as one primitive, examples/tiny_gpt.py's training step takes
    about a quarter less time (measured side by side).
    """

    holomorphic = True

    @staticmethod
    def forward(x):
        inner = (x + x * x * x * _TANH_GELU_CUBIC) * _TANH_GELU_SCALE
        return x * (np.tanh(inner) + 1.0) * 0.5

    @staticmethod
    def partial(i, y, x, xp):
        square = x * x
        t = xp.tanh((x + square * x * _TANH_GELU_CUBIC) * _TANH_GELU_SCALE)
        slope = (square * (3 * _TANH_GELU_CUBIC) + 1.0) * _TANH_GELU_SCALE
        return (t + 1.0) * 0.5 + x * (1.0 - t * t) * slope * 0.5
