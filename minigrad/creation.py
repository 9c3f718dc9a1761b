"""Making tensors: from data, filled, ranges, and random (``mg.tensor``, ``mg.zeros``, ...)."""

from __future__ import annotations

import numpy as np

from .errors import OpError, ShapeError
from .tensor import Tensor


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (numpy's dtype rules: Python floats -> float64).

    >>> tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    data = data.data if isinstance(data, Tensor) else data
    return Tensor(np.array(data, dtype=dtype), requires_grad=requires_grad, name=name)


def checked_shape(op: str, shape) -> tuple[int, ...]:
    """``shape`` (``(2, 3)``, ``[2, 3]``, or ``2``) as a tuple of sizes >= 0, or a clear error."""
    sizes = (shape,) if isinstance(shape, int | np.integer) else shape
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0 for n in sizes
    ):
        raise ShapeError(
            f"{op}: {shape!r} is not a shape; give sizes >= 0 as ints: {op}(2, 3) or {op}((2, 3))"
        )
    return tuple(int(n) for n in sizes)


def _filled(op, make, shape, dtype, requires_grad) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], int | np.integer):
        shape = shape[0]
    return Tensor(make(checked_shape(op, shape), dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled("zeros", np.zeros, shape, dtype, requires_grad)


def ones(*shape, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _filled("ones", np.ones, shape, dtype, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    shape = checked_shape("full", shape)
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``x``."""
    return Tensor(np.zeros_like(np.asarray(x), dtype=dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype, unless given) of ``x``."""
    return Tensor(np.ones_like(np.asarray(x), dtype=dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy's arange."""
    data = np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(start)
    return Tensor(data if dtype is None else data.astype(dtype), requires_grad=requires_grad)


def linspace(start, stop, num: int = 50, dtype=None, requires_grad: bool = False) -> Tensor:
    """``num`` evenly spaced values from start to stop inclusive."""
    return Tensor(np.linspace(start, stop, num, dtype=dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


# ----- random ------------------------------------------------------------------------------------


class Generator:
    """A seeded source of random numbers (numpy's PCG64), like ``torch.Generator``."""

    def __init__(self, seed: int | None = None):
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart the stream from ``seed``."""
        self.rng = np.random.default_rng(seed)
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed minigrad's default generator (used by rand, randn, randint and nn.init)."""
    return default_generator.manual_seed(seed)


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).rng


def rand(*shape, dtype=np.float64, requires_grad=False, generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _filled(
        "rand", lambda s, d: _rng(generator).random(s).astype(d), shape, dtype, requires_grad
    )


def randn(*shape, dtype=np.float64, requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples."""
    return _filled(
        "randn",
        lambda s, d: _rng(generator).standard_normal(s).astype(d),
        shape,
        dtype,
        requires_grad,
    )


def randint(low: int, high: int, shape, dtype=np.int64, generator=None) -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    if not low < high:
        raise OpError(
            f"randint: low={low} must be less than high={high}: the integers are drawn from "
            f"[low, high), so randint(0, 10, (3,)) gives three of 0..9"
        )
    shape = checked_shape("randint", shape)
    return Tensor(_rng(generator).integers(low, high, size=shape, dtype=dtype))
