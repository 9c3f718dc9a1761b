"""A model's float64 twin: what every model check and training measurement works on.

A ``Twin`` is a deep copy of the model with float64 parameters and buffers, the batch in
float64, and minigrad's random generator as it was when the twin was made: every evaluation
of the loss starts from that state (so dropout draws the same masks each time, and finite
differences see one function), and leaving the ``with`` block puts it back (so training goes on
as if nothing had happened). The model itself, its gradients and its dtype are never touched.
A model is anything with ``nn.Module``'s parameter and buffer walks (``Model``), so this module
does not import ``nn``, which imports it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from ..autodiff import enable_grad, no_grad
from ..batching import refuse_batch_statistics
from ..curvature.jacobians import ExampleGradients
from ..errors import DTypeError, ShapeError
from ..random import default_generator
from ..tensor import Tensor


class Model(Protocol):
    """What the checks use of a model (an ``nn.Module``): calling it, and walking its named
    parameters and buffers. It is deep-copied, never changed."""

    def __call__(self, *inputs): ...

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]: ...

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]: ...


def float64_copy(module: Model) -> Model:
    """A deep copy of ``module`` whose parameters and buffers are float64 leaves."""
    twin = copy.deepcopy(module)
    for _, t in list(twin.named_parameters()) + list(twin.named_buffers()):
        if t.dtype.kind == "f":
            t.data = t.data.astype(np.float64)
        t.grad = None
    return twin


def float64_batch(batch) -> list[Tensor]:
    out = []
    for b in batch:
        data = b.data if isinstance(b, Tensor) else b
        data = np.asarray(data)
        out.append(Tensor(data.astype(np.float64) if data.dtype.kind == "f" else data))
    return out


_SCALAR_LOSS = (
    "the loss must be a scalar Tensor (loss_fn(module(batch[0]), *batch[1:]), or module(*batch) "
    "when loss_fn is None)"
)


def model_loss(module, loss_fn, batch, fname: str = "check_module") -> Tensor:
    """``loss_fn(module(batch[0]), *batch[1:])``, or ``module(*batch)`` when ``loss_fn`` is None:
    a scalar Tensor, or an error naming ``fname``."""
    out = module(batch[0]) if loss_fn is not None else module(*batch)
    loss = loss_fn(out, *batch[1:]) if loss_fn is not None else out
    if not isinstance(loss, Tensor):
        raise DTypeError(f"{fname}: {_SCALAR_LOSS}, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ShapeError(f"{fname}: {_SCALAR_LOSS}, got shape {loss.shape}")
    return loss


class Twin:
    """``with Twin(model, loss_fn, batch) as twin``: the float64 copy ``twin.model`` and batch
    ``twin.batch``; ``twin.loss()`` the loss (recorded when grad mode is on), ``twin.value()`` its
    float value, ``twin.gradients()`` the float64 gradient per parameter,
    ``twin.per_sample_gradients()`` each example's, per parameter.

    The examples are the slices of the batch along the first axis of its first entry
    (``twin.size`` of them): every entry with that leading size is sliced (``twin.rows``),
    anything else is passed whole."""

    def __init__(self, model: Model, loss_fn, batch, fname: str = "check_module"):
        self.saved_rng = copy.deepcopy(default_generator.rng.bit_generator.state)
        self.model = float64_copy(model)
        self.batch = float64_batch(batch)
        self.loss_fn, self.fname = loss_fn, fname
        self.names, self.params = [], []
        for name, p in self.model.named_parameters():
            self.names.append(name)
            self.params.append(p)

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc) -> None:
        default_generator.rng.bit_generator.state = self.saved_rng

    def loss(self, batch=None) -> Tensor:
        """The loss on ``batch`` (default: the whole batch), the generator reset first."""
        default_generator.rng.bit_generator.state = copy.deepcopy(self.saved_rng)
        return model_loss(self.model, self.loss_fn, self.batch if batch is None else batch,
                          self.fname)  # fmt: skip

    def value(self, batch=None) -> float:
        with no_grad():
            return self.loss(batch).item()

    def gradients(self, batch=None) -> tuple[float, list[np.ndarray]]:
        """(the loss, its gradient for each parameter) on ``batch``; zeros for a parameter the
        loss does not reach. The twin's ``.grad`` stay None."""
        with enable_grad():
            loss = self.loss(batch)
            loss.backward()
        grads = [np.zeros(p.shape) if p.grad is None else p.grad.data for p in self.params]
        for p in self.params:
            p.grad = None
        return loss.item(), grads

    @property
    def size(self) -> int:
        """The number of examples: the first batch entry's leading size (0 for none)."""
        return self.batch[0].shape[0] if self.batch and self.batch[0].ndim else 0

    def sliced(self) -> list[bool]:
        """Which batch entries hold one row per example (and are sliced with them)."""
        return [b.ndim > 0 and b.shape[0] == self.size for b in self.batch]

    def rows(self, start: int, stop: int) -> list[Tensor]:
        """The batch's examples ``start:stop``: a smaller batch."""
        return [b[start:stop] if s else b for b, s in zip(self.batch, self.sliced())]

    def per_sample_gradients(self) -> list[np.ndarray]:
        """The gradient of the loss of each example alone (the batch's rows ``i:i+1``), per
        parameter: ``(B, *shape)`` each, zeros for a frozen parameter; by ``mg.vmap`` of one
        backward pass (``curvature``'s ``ExampleGradients``). BatchNorm in training mode is
        refused: its batch statistics mix the examples."""
        refuse_batch_statistics(self.model, f"{self.fname}: per-sample gradients")
        sliced = self.sliced()

        def loss_of_one(*example):
            rows = iter(example)
            return self.loss([next(rows).unsqueeze(0) if s else b
                              for b, s in zip(self.batch, sliced)])  # fmt: skip

        trainable = [p for p in self.params if p.requires_grad]
        examples = [b for b, s in zip(self.batch, sliced) if s]
        found = iter(ExampleGradients(self.fname, loss_of_one, trainable, examples).blocks(
            0, self.size) if trainable else ())  # fmt: skip
        return [next(found) if p.requires_grad else np.zeros((self.size, *p.shape))
                for p in self.params]  # fmt: skip

    def module_names(self) -> dict[int, str]:
        """id of each submodule of the twin -> its dotted path ("" for the model itself)."""
        walk = getattr(self.model, "named_modules", None)
        return {} if walk is None else {id(m): path for path, m in walk()}
