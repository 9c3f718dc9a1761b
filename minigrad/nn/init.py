"""Parameter initialisation, in place, as PyTorch's ``torch.nn.init`` (same names and formulas).

Random draws come from minigrad's default generator (``mg.manual_seed``) unless a
``generator`` is given, so seeding minigrad makes a model's initialisation reproducible.
"""

from __future__ import annotations

import math

import numpy as np

from ..autodiff import no_grad
from ..errors import OpError, ShapeError, missing_names
from ..random import Generator, rng
from ..tensor import Tensor


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    with no_grad():
        tensor.copy_(values.astype(tensor.dtype, copy=False))
    return tensor


def _rng(generator: Generator | None) -> np.random.Generator:
    return rng(generator)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid", "identity")  # fmt: skip
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out): for a weight of shape (out, in, *kernel), in * kernel and out * kernel."""
    if tensor.ndim < 2:
        raise ShapeError(
            f"init: fan in and fan out need a weight with at least 2 dimensions, got shape "
            f"{tensor.shape}"
        )
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b)."""
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(tensor)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:  # fmt: skip
    """U(-b, b) with b = sqrt(3) * gain / sqrt(fan) (He et al., 2015)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:  # fmt: skip
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


# ----- truncated normal, orthogonal, identity -----------------------------------------------------


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:  # fmt: skip
    """Fill with N(mean, std^2) conditioned on [a, b] (``a`` and ``b`` are values, not numbers
    of standard deviations), as PyTorch's.

    Drawn exactly by rejection, whatever the interval: from the normal itself when it holds
    enough of the mass, else (an interval in one tail) from a uniform or an exponential
    proposal (Robert, 1995), so a few rounds suffice even far in a tail.
    """
    mean, std, a, b = float(mean), float(std), float(a), float(b)
    if not std > 0:
        raise OpError(f"trunc_normal_: std must be > 0, got {std}")
    if not a <= b:
        raise OpError(f"trunc_normal_: the interval [a, b] = [{a}, {b}] is empty (a > b)")
    alpha, beta = (a - mean) / std, (b - mean) / std  # the bounds in standard deviations
    z = _truncated_standard_normal(_rng(generator), tensor.data.size, alpha, beta)
    return _fill(tensor, np.clip(mean + std * z, a, b).reshape(tensor.shape))


def _truncated_standard_normal(source: np.random.Generator, n: int, alpha: float,
                               beta: float) -> np.ndarray:  # fmt: skip
    """``n`` draws of N(0, 1) conditioned on [alpha, beta], by rejection."""
    mass = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    sign = 1.0
    if alpha < 0 and beta <= 0:  # a left tail is the mirror image of a right one
        alpha, beta, sign = -beta, -alpha, -1.0
    nearest = max(alpha, 0.0)  # the point of [alpha, beta] nearest 0 (alpha >= 0 in a tail)
    if mass >= 0.05:

        def propose(k):  # the normal itself: accepted with probability `mass`
            z = source.standard_normal(k)
            return z, (alpha <= z) & (z <= beta)

    elif (beta - alpha) * nearest < 1:  # narrow (small mass around 0, or a short tail piece)

        def propose(k):  # uniform on the interval, accepted with the density's ratio to its top
            z = source.uniform(alpha, beta, k)
            return z, source.random(k) <= np.exp((nearest * nearest - z * z) / 2)

    else:  # a wide interval in the right tail: alpha + an exponential of the best rate
        rate = (alpha + math.sqrt(alpha * alpha + 4)) / 2

        def propose(k):
            z = alpha + source.standard_exponential(k) / rate
            return z, (z <= beta) & (source.random(k) <= np.exp(-((z - rate) ** 2) / 2))

    out = np.empty(n)
    filled = 0
    while filled < n:
        z, accepted = propose(n - filled)
        z = z[accepted]
        out[filled : filled + len(z)] = z
        filled += len(z)
    return sign * out


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013), as PyTorch's:
    the Q of a normal matrix's QR decomposition, signs fixed by R's diagonal so it is uniformly
    distributed. A tensor of more than 2 dimensions is taken as (shape[0], the rest flattened).
    Its rows are orthonormal when it has fewer rows than columns, else its columns."""
    if tensor.ndim < 2:
        raise ShapeError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
            f"{tensor.shape}"
        )
    if tensor.data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal, also when not square)."""
    if tensor.ndim != 2:
        raise ShapeError(
            f"eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}"
        )
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a convolution weight (out, in, *kernel) with the Dirac delta, so the convolution
    keeps its input channels (in each of ``groups`` groups of output channels)."""
    if tensor.ndim not in (3, 4, 5):
        raise ShapeError(
            f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape "
            f"{tensor.shape}"
        )
    if groups < 1 or tensor.shape[0] % groups:
        raise ShapeError(
            f"dirac_: dim 0 (size {tensor.shape[0]}) must be divisible by groups={groups}"
        )
    per_group = tensor.shape[0] // groups
    center = tuple(k // 2 for k in tensor.shape[2:])
    values = np.zeros(tensor.shape)
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d, *center)] = 1
    return _fill(tensor, values)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill a 2-D tensor with N(0, std^2) and set ``ceil(sparsity * rows)`` entries of each
    column to zero, in random rows (Martens, 2010)."""
    if tensor.ndim != 2:
        raise ShapeError(
            f"sparse_: only tensors with 2 dimensions are supported, got shape {tensor.shape}"
        )
    rows, cols = tensor.shape
    source = _rng(generator)
    values = source.normal(0.0, std, (rows, cols))
    zeros = math.ceil(sparsity * rows)
    for col in range(cols):
        values[source.permutation(rows)[:zeros], col] = 0
    return _fill(tensor, values)


# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.nn.init")
