"""What a check does to its inputs before it differentiates anything: PyTorch's tuple form,
float64 copies (integer inputs stay constants), and the scalar ``sum(u * f(*xs))`` it checks."""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError
from ..tensor import Tensor


def as_inputs(inputs: tuple) -> tuple:
    """The inputs of a check, in either convention: ``gradcheck(f, x, y)``, or PyTorch's
    ``gradcheck(f, (x, y))`` (one tuple or list of Tensors or arrays), which would otherwise be
    read as a single stacked input and silently check something else."""
    if len(inputs) == 1 and isinstance(inputs[0], tuple | list) and inputs[0]:
        items = inputs[0]
        if all(isinstance(x, Tensor | np.ndarray) for x in items):
            return tuple(items)
    return inputs


def float64_inputs(inputs, caller: str, notes=None):
    """float64 copies of the floating-point inputs (complex stays complex), which to
    differentiate, and names for the report. With no floating-point input there is nothing to
    check, and a check that passes on nothing would hide the typo ``np.arange(4)``: an error."""
    arrays, wrt, names = [], [], []
    for i, x in enumerate(inputs):
        data = np.asarray(x.data if isinstance(x, Tensor) else x)
        if data.dtype.kind in "fc":
            if notes is not None and data.dtype in (np.float32, np.float16):
                notes.append(f"input {i} is {data.dtype}: checked in float64 (upcast copy)")
            data = data.astype(np.complex128 if data.dtype.kind == "c" else np.float64)
            wrt.append(i)
        arrays.append(np.array(data))
        names.append(x.name if isinstance(x, Tensor) and x.name else f"input {i}")
    if not wrt:
        dtypes = ", ".join(f"{n} is {a.dtype}" for n, a in zip(names, arrays)) or "none given"
        raise DTypeError(
            f"{caller}: no input is floating point ({dtypes}), so there is nothing to check; "
            f"pass float arrays, e.g. np.arange(4.0) rather than np.arange(4), or "
            f"mg.tensor(x, dtype=np.float64)"
        )
    return arrays, wrt, names


def constant_notes(arrays, wrt, names) -> list[str]:
    """Report notes naming the inputs that are not checked (integer inputs are constants)."""
    return [f"{names[i]} is {a.dtype}: a constant, not checked"
            for i, a in enumerate(arrays) if i not in wrt]  # fmt: skip


def projected(f, cotangent_seed: int):
    """``sum(u * f(*xs))`` with one fixed random ``u`` drawn for the output's shape (1 for a
    scalar output, so the report shows the gradient itself)."""
    cache = {}

    def scalar(*xs):
        out = f(*xs)
        if not isinstance(out, Tensor):
            raise DTypeError(
                f"gradcheck: the function must return a Tensor, it returned {type(out).__name__}"
            )
        if "u" not in cache:
            # NOTE: each output weighted by 1 / its size, so a small output's change is not lost
            # in the rounding of a large one's (exp([30, 0]) would be).
            rng = np.random.default_rng(cotangent_seed)
            u = np.ones(out.shape) if out.numel() == 1 else rng.standard_normal(out.shape)
            if out.numel() > 1:
                u = u / np.maximum(1.0, np.abs(np.real(out.data)))
            cache["u"] = u
        return (out * cache["u"]).sum()

    return scalar
