"""Random numbers: ``Generator``, ``manual_seed``, and the random factories and fills
(``rand``, ``randn``, ``randint``, ``randperm``, ``multinomial``, ``bernoulli``, ``x.normal_``).

Every draw comes from a ``Generator`` (numpy's PCG64): the one given as ``generator=``, or
minigrad's ``default_generator``, which ``mg.manual_seed`` seeds (and which ``nn.init``, dropout
and the data loaders draw from too). Signatures and dtypes are PyTorch's: ``randn(2, 3)`` is of
the default dtype, ``randint(10, (3,))`` int64. The streams are numpy's, not PyTorch's: the same
seed gives other numbers than in PyTorch.
"""

from __future__ import annotations

import operator

import numpy as np

from . import batching, devices, dtypes
from .autodiff import mode
from .creation import count, floating_dtype, like_data, like_dtype, made, size_of
from .errors import DTypeError, OpError, ShapeError
from .methods import provide
from .tensor import Tensor

# PyTorch's seed for a new ``torch.Generator()``: an unseeded Generator draws the same numbers
# in every run (the default generator does not: it is seeded from the OS at start-up).
DEFAULT_SEED = 67280421310721


class Generator:
    """A source of random numbers, as ``torch.Generator``: ``Generator().manual_seed(0)``.
    ``Generator(seed)`` (an int) seeds it at once, a minigrad shortcut; ``Generator("cpu")`` is
    PyTorch's form (the CPU is the only device). Unseeded, it starts from PyTorch's fixed seed."""

    def __init__(self, device="cpu", *, seed: int | None = None):
        if isinstance(device, int | np.integer) and not isinstance(device, bool):
            device, seed = "cpu", device
        self.device = devices.check("Generator", device)
        self.manual_seed(DEFAULT_SEED if seed is None else seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (any int, negative too, as PyTorch's); returns the
        generator."""
        try:
            seed = operator.index(seed)
        except TypeError:
            raise OpError(f"manual_seed: the seed must be an int, got {seed!r}") from None
        self._seed = seed % 2**64
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        new = int(np.random.SeedSequence().entropy % 2**64)
        self.manual_seed(new)
        return new

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._seed

    def get_state(self) -> dict:
        """The generator's state (numpy's bit-generator state), for ``set_state``."""
        return {"seed": self._seed, "bit_generator": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> Generator:
        """Return to a state that ``get_state`` gave."""
        self._seed = state["seed"]
        self.rng.bit_generator.state = state["bit_generator"]
        return self


default_generator = Generator(seed=int(np.random.SeedSequence().entropy % 2**64))


def manual_seed(seed: int) -> Generator:
    """Seed minigrad's default generator (used by rand, randn, randint, randperm, multinomial,
    nn.init, dropout and the data loaders); returns it, as ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator last started from."""
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    """The default generator's state (``default_generator.get_state()``)."""
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    """Return the default generator to a state that ``get_rng_state`` gave."""
    default_generator.set_state(state)


def rng(generator: Generator | None) -> np.random.Generator:
    """numpy's generator behind ``generator`` (minigrad's default one when None)."""
    now = mode()
    if now.vmap_level:
        source = default_generator.rng if generator is None else _checked(generator).rng
        return batching.random_source(source)
    recording = now.recording
    if recording is not None:  # mg.compile: each draw is replayed from the same stream
        return recording.draws(default_generator if generator is None else _checked(generator))
    if generator is None:
        return default_generator.rng
    return _checked(generator).rng


def _checked(generator) -> Generator:
    if not isinstance(generator, Generator):
        raise DTypeError(
            f"generator: expected an mg.Generator, got {type(generator).__name__}; make one "
            f"with mg.Generator().manual_seed(seed)"
        )
    return generator


# ----- random tensors ----------------------------------------------------------------------------


def _floating(op: str, dtype) -> np.dtype:
    return floating_dtype(op, dtype, "draws floating-point numbers (mg.randint draws integers)")


def _uniform(source: np.random.Generator, shape, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "c":  # real and imaginary parts each uniform in [0, 1)
        parts = source.random((2, *shape))
        return (parts[0] + 1j * parts[1]).astype(dtype)
    if dtype in (dtypes.float32, dtypes.float64):
        return source.random(shape, dtype=dtype)
    return source.random(shape).astype(dtype)


def _normal(source: np.random.Generator, shape, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "c":  # as PyTorch: real and imaginary parts each of variance 1/2
        parts = source.standard_normal((2, *shape)) * np.sqrt(0.5)
        return (parts[0] + 1j * parts[1]).astype(dtype)
    if dtype in (dtypes.float32, dtypes.float64):
        return source.standard_normal(shape, dtype=dtype)
    return source.standard_normal(shape).astype(dtype)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False,
         **kw) -> Tensor:  # fmt: skip
    """Samples uniform in [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``, of the default dtype."""
    shape = size_of("rand", size, kw)
    data = _uniform(rng(generator), shape, _floating("rand", dtype))
    return made("rand", data, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False,
          **kw) -> Tensor:  # fmt: skip
    """Standard normal samples: ``randn(2, 3)`` or ``randn((2, 3))``, of the default dtype."""
    shape = size_of("randn", size, kw)
    data = _normal(rng(generator), shape, _floating("randn", dtype))
    return made("randn", data, device, requires_grad)


def randint(*args, size=None, low=None, high=None, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Integers drawn uniformly from [low, high), as PyTorch's ``randint(low=0, high, size)``:
    ``randint(10, (3,))`` or ``randint(2, 10, (3,))``, int64 unless ``dtype`` is given."""
    args = list(args)
    if size is None:
        if not args:
            raise OpError("randint: give the size, e.g. randint(0, 10, (3,))")
        size = args.pop()
    if isinstance(size, int | np.integer):
        raise ShapeError(
            f"randint: the size must be a tuple, as in randint(0, 10, (3,)), got {size!r} "
            f"(PyTorch's signature is randint(low=0, high, size))"
        )
    if len(args) > 2:
        raise OpError(f"randint: expected randint(low=0, high, size), got {len(args) + 1} values")
    # One positional bound is ``high`` (randint(10, size)), unless high= is given.
    if len(args) == 2 or (args and high is not None):
        if low is not None or len(args) == 2 and high is not None:
            raise OpError("randint: low or high is given both by position and by keyword")
        low, high = args if len(args) == 2 else (args[0], high)
    elif args:
        high = args[0]
    low = 0 if low is None else low
    if high is None:
        raise OpError("randint: give high, e.g. randint(10, (3,)) for three of 0..9")
    low, high = operator.index(low), operator.index(high)
    if not low < high:
        raise OpError(
            f"randint: low={low} must be less than high={high}: the integers are drawn from "
            f"[low, high), so randint(0, 10, (3,)) gives three of 0..9"
        )
    shape = size_of("randint", (), {"size": size})
    dtype = dtypes.int64 if dtype is None else dtypes.resolve("randint", dtype)
    data = rng(generator).integers(low, high, size=shape, dtype=np.int64).astype(dtype, copy=False)
    return made("randint", data, device, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """A random permutation of 0 .. n - 1 (int64 unless ``dtype`` is given)."""
    n = count("randperm", "n", n)
    dtype = dtypes.int64 if dtype is None else dtypes.resolve("randperm", dtype)
    data = rng(generator).permutation(n).astype(dtype, copy=False)
    return made("randperm", data, device, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Normal samples of mean ``mean`` and standard deviation ``std``: numbers with ``size``
    (``normal(0.0, 1.0, size=(2, 3))``), or tensors that broadcast (one sample per element)."""
    mean_data, std_data = np.asarray(_values(mean, "normal")), np.asarray(_values(std, "normal"))
    if np.any(std_data < 0):
        raise OpError(f"normal: std must be >= 0, got {std}")
    arrays = [_values(v, "normal") for v in (mean, std) if isinstance(v, Tensor | np.ndarray)]
    if dtype is None and arrays:  # tensors give their dtype, numbers the default
        dtype = np.result_type(*arrays)
    if size is None:
        shape = np.broadcast_shapes(mean_data.shape, std_data.shape)
    else:
        shape = size_of("normal", (), {"size": size})
    dtype = _floating("normal", dtype)
    data = mean_data + std_data * _normal(rng(generator), shape, dtypes.float64)
    return made("normal", data.astype(dtype, copy=False), device, requires_grad)


def _values(value, who: str):
    """A tensor's array, or the value as it is (numbers, arrays); refused, naming ``who``, for
    a tensor batched under ``mg.vmap`` (its values differ per example: not batched yet)."""
    return batching.values_of(value, who) if isinstance(value, Tensor) else value


# ----- random tensors like another ---------------------------------------------------------------


def rand_like(input, *, generator=None, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``rand`` in the shape and dtype (unless given) of ``input``."""
    x = like_data(input)
    dtype = _floating("rand_like", like_dtype("rand_like", x, dtype))
    return made("rand_like", _uniform(rng(generator), x.shape, dtype), device, requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None,
               requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``randn`` in the shape and dtype (unless given) of ``input``."""
    x = like_data(input)
    dtype = _floating("randn_like", like_dtype("randn_like", x, dtype))
    return made("randn_like", _normal(rng(generator), x.shape, dtype), device, requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``randint`` in the shape and dtype (unless given) of ``input``:
    ``randint_like(x, 10)`` or ``randint_like(x, 2, 10)``."""
    x = like_data(input)
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, x.shape, generator=generator,
                   dtype=like_dtype("randint_like", x, dtype), device=device,
                   requires_grad=requires_grad)  # fmt: skip


# ----- sampling from given probabilities ---------------------------------------------------------


def multinomial(input, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:  # fmt: skip
    """Indices drawn from the categories of ``input``'s rows, with probabilities proportional
    to the (non-negative, not necessarily normalised) weights: (num_samples,) for a vector,
    (rows, num_samples) for a matrix, int64. Without replacement each category comes at most
    once, drawn one after another among those left (as PyTorch; once only zero weights are
    left they follow in order).

    >>> import minigrad as mg
    >>> mg.multinomial(mg.tensor([0.0, 1.0, 0.0]), 1).tolist()
    [1]
    """
    weights = np.asarray(_values(input, "multinomial"), dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise ShapeError(
            f"multinomial: the weights must be 1-D or 2-D (one row per distribution), got shape "
            f"{weights.shape}"
        )
    num_samples = operator.index(num_samples)
    rows = weights.reshape(-1, weights.shape[-1])
    n = rows.shape[1]
    if num_samples <= 0:
        raise OpError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise OpError("multinomial: the weights contain inf, nan or an element < 0")
    if np.any(rows.sum(axis=1) <= 0):
        raise OpError("multinomial: invalid distribution (a row's weights sum to 0)")
    if not replacement and num_samples > n:
        raise OpError(
            f"multinomial: cannot draw {num_samples} samples from {n} categories without "
            f"replacement; pass replacement=True or ask for at most {n}"
        )
    source = rng(generator)
    if replacement:  # inverse CDF
        cdf = np.cumsum(rows, axis=1)
        u = source.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        picks = np.stack([np.searchsorted(c, v, side="right") for c, v in zip(cdf, u)])
        last_positive = n - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)
        picks = np.minimum(picks, last_positive[:, None])  # u * total rounded up to total
    else:  # successive sampling: the smallest exponential(1) / weight keys, in order
        with np.errstate(divide="ignore"):
            keys = source.standard_exponential(rows.shape) / rows
        picks = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor(picks.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64))


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0 or 1 for each element, 1 with probability ``input`` (or ``p`` when given), in
    ``input``'s dtype."""
    x = like_data(input)
    given = _values(input if p is None else p, "bernoulli")
    probability = given if p is None else np.broadcast_to(np.asarray(given), x.shape)
    if np.any((probability < 0) | (probability > 1)) or np.any(np.isnan(probability)):
        raise OpError("bernoulli: the probabilities must be in [0, 1]")
    dtype = x.dtype if x.dtype.kind in "fbiu" else dtypes.get_default_dtype()
    return Tensor((rng(generator).random(x.shape) < probability).astype(dtype))


# ----- in-place random fills (Tensor.normal_, .uniform_, .bernoulli_) -------------------------


def _fill(op: str, x: Tensor, draw, kinds: str = "f") -> Tensor:
    if x.dtype.kind not in kinds:
        raise DTypeError(
            f"{op}: fills with floating-point numbers, but the tensor is {x.dtype}; cast it "
            f"first (x.float()), or draw integers with mg.randint"
        )
    return x._inplace(op, lambda data: data.__setitem__(Ellipsis, draw(data.shape)))


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill ``x`` in place with normal samples of mean ``mean`` and standard deviation ``std``."""
    if std < 0:
        raise OpError(f"normal_: std must be >= 0, got {std}")
    source = rng(generator)
    draw = lambda shape: mean + std * _normal(source, shape, x.dtype)  # noqa: E731
    return _fill("normal_", x, draw, "fc")


def uniform_(x: Tensor, low: float = 0.0, high: float = 1.0, *, generator=None,
             **bounds) -> Tensor:  # fmt: skip
    """Fill ``x`` in place with samples uniform in [low, high) (PyTorch's ``from``/``to``,
    Python keywords, are accepted as ``**{"from": a, "to": b}``)."""
    low, high = bounds.pop("from", low), bounds.pop("to", high)
    if bounds:
        raise OpError(f"uniform_: unexpected arguments {sorted(bounds)}")
    if low > high:
        raise OpError(f"uniform_: expects low <= high, got low={low}, high={high}")
    source = rng(generator)
    return _fill("uniform_", x, lambda shape: source.uniform(low, high, shape))


def bernoulli_(x: Tensor, p: float = 0.5, *, generator=None) -> Tensor:
    """Fill ``x`` in place with 0 or 1, 1 with probability ``p``."""
    probability = np.asarray(_values(p, "bernoulli_"))
    if np.any((probability < 0) | (probability > 1)):
        raise OpError(f"bernoulli_: p must be in [0, 1], got {p}")
    source = rng(generator)
    return x._inplace(
        "bernoulli_",
        lambda data: data.__setitem__(Ellipsis, source.random(data.shape) < probability),
    )


provide(normal_, uniform_, bernoulli_, bernoulli, multinomial)
