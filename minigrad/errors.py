"""minigrad's exceptions: each names the operation, the shapes or dtypes involved, and the fix."""


class MinigradError(Exception):
    """Base class of every error minigrad raises for a user mistake."""


class ArgumentError(MinigradError, TypeError):
    """A function was given in a form the caller does not take (the message names the forms it
    does: a function of the inputs, or a closure of none)."""


class ShapeError(MinigradError, ValueError):
    """Operands whose shapes do not fit the operation (broadcasting, matmul, reshape, axes)."""


class DTypeError(MinigradError, TypeError):
    """A dtype the operation cannot take (e.g. an integer tensor asked to require grad)."""


class BackwardError(MinigradError, RuntimeError):
    """Backward cannot run: freed graph, non-scalar output without grad, in-place change, ..."""


class IndexingError(MinigradError, IndexError):
    """An index that does not fit the tensor."""


class OpError(MinigradError, ValueError):
    """An operation that cannot run on the values it was given."""


class DeviceError(MinigradError, RuntimeError):
    """A device other than the CPU (``"cuda"``, ``"mps"``): minigrad computes with numpy."""


class MissingFeatureError(MinigradError, AttributeError):
    """A name PyTorch has and minigrad does not (``mg.fft``, ``x.stft``): the message says so by
    PyTorch's name."""


# Why some large parts of PyTorch are not here; any other missing name gets the general reason.
_REASONS = {
    "fft": "minigrad has no FFTs",
    "jit": "minigrad runs eagerly (no TorchScript)",
    "compile": "minigrad runs eagerly (no compiler)",
    "distributed": "minigrad runs in one process",
    "sparse": "minigrad's tensors are dense numpy arrays",
    "quantization": "minigrad computes in float16/32/64 only",
    "onnx": "minigrad has no model export besides mg.save's .npz",
    "hub": "minigrad downloads nothing",
    "pad": "padding is minigrad.nn.functional.pad (F.pad), as in PyTorch",
    "repeat": "it is a Tensor method (x.repeat tiles); repeat_interleave repeats each element",
}


def missing(namespace: str, name: str) -> MissingFeatureError:
    """The error for ``namespace.name`` (``torch.fft``, ``Tensor.stft``) that minigrad lacks."""
    reason = _REASONS.get(name, "minigrad implements the part of PyTorch that small networks "
                          "trained in plain Python scripts use")  # fmt: skip
    return MissingFeatureError(
        f"minigrad has no `{namespace}.{name}`: {reason}; see docs/coming-from-pytorch.md for "
        f"what it has and what it lacks"
    )


def missing_names(module: str, torch_name: str):
    """A module's ``__getattr__`` (reached only for a name the module lacks) that names it by
    PyTorch's name: ``__getattr__ = missing_names(__name__, "torch.nn.functional")``."""

    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise missing(torch_name, name)

    return __getattr__


class BatchingError(MinigradError, ValueError):
    """A batched value under ``mg.vmap`` met something that cannot be batched."""
