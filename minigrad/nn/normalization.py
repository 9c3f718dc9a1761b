"""Normalisation: ``batch_norm``/``layer_norm`` and ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``.

Composites of minigrad's ops (mean, sqrt, broadcasting), so reverse, forward and higher
derivatives come without rules of their own. Semantics are PyTorch's: batch norm normalises
with the biased batch variance and keeps the unbiased one in ``running_var``.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .. import ops
from ..autodiff import no_grad
from ..batching import level_of, refuse_batch_statistics
from ..errors import DTypeError, OpError, ShapeError
from ..functions import as_tensor, sqrt
from ..primitive import apply
from ..tensor import Tensor
from .checks import check_size, parameter_dtype
from .module import Module, Parameter

# ----- functional --------------------------------------------------------------------------------


def _check_batch(x: Tensor, who: str, training: bool) -> None:
    """Batch statistics need more than one value per channel (else the variance is 0/0)."""
    if training and x.ndim >= 2 and x.numel() <= x.shape[1]:
        raise ShapeError(
            f"{who}: got input of shape {x.shape}; training needs more than 1 value per channel "
            f"(a batch of at least 2, or call eval() to use the running statistics)"
        )


def _real(value, name: str, who: str, allow_none: bool = False):
    """``value`` if it is a real number (a Python or numpy scalar), else an OpError naming it."""
    if (value is None and allow_none) or (
        isinstance(value, numbers.Real) and not isinstance(value, bool)
    ):
        return value
    none = " (or None)" if allow_none else ""
    raise OpError(f"{who}: {name} must be a real number{none}, got {value!r}")


def _per_channel(value, name: str, channels: int, view: tuple[int, ...], who: str = "batch_norm"):
    """``value`` of shape (C,) reshaped to (1, C, 1, ...) to broadcast over the channel axis;
    a list or an array is taken as a constant."""
    if value is None:
        return None
    value = as_tensor(value)
    if value.shape != (channels,):
        raise ShapeError(
            f"{who}: {name} has shape {tuple(value.shape)}, expected ({channels},) "
            f"(one value per channel, axis 1 of the input)"
        )
    return value.reshape(view)


def _check_running(value, name: str, who="batch_norm", mode="training=True") -> None:
    """Training updates the running statistics in place: they must be float Tensors or arrays."""
    if not isinstance(value, (Tensor, np.ndarray)):
        raise OpError(
            f"{who}: {mode} updates {name} in place, but it is a "
            f"{type(value).__name__}; pass a Tensor or a numpy array (or None to keep no "
            f"running statistics)"
        )
    if value.dtype.kind != "f":
        raise DTypeError(
            f"{who}: {mode} updates {name} in place, but its dtype is "
            f"{value.dtype}; pass a floating-point Tensor or array"
        )
    data = value.data if isinstance(value, Tensor) else value
    if not data.flags.writeable:
        raise OpError(
            f"{who}: {mode} updates {name} in place, but it is read-only; pass a writeable copy"
        )


def _update(buffer, batch_value: np.ndarray, factor: float) -> None:
    """``buffer = (1 - factor) * buffer + factor * batch_value``, in place."""
    buffer = buffer if isinstance(buffer, Tensor) else Tensor(buffer)  # shares an ndarray's memory
    with no_grad():
        buffer.mul_(1 - factor).add_(batch_value, alpha=factor)


def batch_norm(
    x: Tensor, running_mean, running_var, weight=None, bias=None, training: bool = False,
    momentum: float = 0.1, eps: float = 1e-5,
) -> Tensor:  # fmt: skip
    """Normalise each channel (axis 1) of ``x`` of shape (N, C, *) as PyTorch's batch norm.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel. With ``training``, mean
    and var are the batch's (biased variance, over every axis but 1) and the running statistics
    (if given, float Tensors or arrays of shape (C,)) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* batch variance.
    Otherwise ``running_mean`` and ``running_var`` (which may then also be lists) are used, and
    only ``x`` (and the affine parameters) get gradients. ``weight`` and ``bias`` of shape (C,)
    may be Tensors, arrays or lists.
    """
    x = as_tensor(x)
    eps = _real(eps, "eps", "batch_norm")
    momentum = _real(momentum, "momentum", "batch_norm", allow_none=True)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C, *), got shape {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ShapeError("batch_norm: give both running_mean and running_var, or neither")
    channels = x.shape[1]
    view = (1, channels) + (1,) * (x.ndim - 2)
    mean_c = _per_channel(running_mean, "running_mean", channels, view)
    var_c = _per_channel(running_var, "running_var", channels, view)
    weight_c = _per_channel(weight, "weight", channels, view)
    bias_c = _per_channel(bias, "bias", channels, view)
    if training:
        _check_batch(x, "batch_norm", training)
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axes, keepdims=True)
        y = centred / sqrt(var + eps)
        if running_mean is not None:
            if momentum is None:
                raise OpError(
                    "batch_norm: momentum=None (a cumulative average) needs the number of batches "
                    "seen; pass momentum=1/k for the k-th batch, or use BatchNorm1d/BatchNorm2d"
                )
            _check_running(running_mean, "running_mean")
            _check_running(running_var, "running_var")
            count = x.numel() // channels
            _update(running_mean, mean.data.ravel(), momentum)
            _update(running_var, var.data.ravel() * (count / (count - 1)), momentum)
    else:
        if running_mean is None:
            raise ShapeError(
                "batch_norm: training=False normalises with running_mean and running_var; "
                "give them (or training=True to use the batch statistics)"
            )
        y = (x - mean_c.data) * (1 / np.sqrt(var_c.data + eps))
    if weight_c is not None:
        y = y * weight_c
    if bias_c is not None:
        y = y + bias_c
    return y


def _normalized_shape(normalized_shape, who: str = "layer_norm") -> tuple[int, ...]:
    """An int or a sequence of ints (PyTorch's ``normalized_shape``) as a tuple of sizes."""
    value = normalized_shape
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        shape = (operator.index(value),)
    except TypeError:
        try:
            shape = tuple(operator.index(d) for d in value) if not isinstance(value, str) else None
        except TypeError:
            shape = None
    if shape is None or any(d < 0 for d in shape):
        raise ShapeError(
            f"{who}: normalized_shape must be an int or a sequence of non-negative ints (the "
            f"sizes of the last axes), got {normalized_shape!r}"
        )
    if not shape:
        raise ShapeError(f"{who}: normalized_shape must name at least one axis")
    return shape


def _check_layer(x: Tensor, shape: tuple[int, ...], who: str) -> None:
    if x.shape[x.ndim - len(shape) :] != shape or x.ndim < len(shape):
        expected = "(*, " + ", ".join(map(str, shape)) + ")"
        raise ShapeError(f"{who}: got input of shape {x.shape}; expected {expected}")


def layer_norm(x: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` axes of ``x``, as PyTorch's layer norm.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the mean and biased variance of
    each sample over those axes; ``weight`` and ``bias`` (Tensors, arrays or lists) have shape
    ``normalized_shape``.
    """
    x = as_tensor(x)
    shape = _normalized_shape(normalized_shape)
    eps = _real(eps, "eps", "layer_norm")
    _check_layer(x, shape, f"layer_norm(normalized_shape={shape})")
    weight = None if weight is None else as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.shape != shape:
            raise ShapeError(
                f"layer_norm: {name} has shape {value.shape}, expected normalized_shape {shape}"
            )
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    given = (("weight", weight), ("bias", bias))
    affine = {name: value for name, value in given if value is not None}
    return apply(ops.LayerNorm, x, *affine.values(), axes=axes, eps=eps, parts=tuple(affine))


# ----- modules -----------------------------------------------------------------------------------


class NormBase(Module):
    """What batch norm and instance norm share, as PyTorch's ``_NormBase``: per-channel
    ``weight``/``bias`` (ones/zeros) when ``affine`` (``bias=False``: the weight only), and the
    buffers ``running_mean``, ``running_var`` and ``num_batches_tracked`` when
    ``track_running_stats``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None, *,
                 bias: bool = True):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        dtype = parameter_dtype(who, dtype)
        num_features = check_size(who, "num_features", num_features)
        eps = _real(eps, "eps", who)
        momentum = _real(momentum, "momentum", who, allow_none=True)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine and bias else None
        tracked = track_running_stats
        for name, value in (
            ("running_mean", np.zeros(num_features, dtype)),
            ("running_var", np.ones(num_features, dtype)),
            ("num_batches_tracked", np.array(0, dtype=np.int64)),
        ):
            self.register_buffer(name, Tensor(value) if tracked else None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(NormBase):
    """Batch normalisation over axis 1 with learnable ``weight``/``bias`` (ones/zeros) and the
    buffers ``running_mean``, ``running_var`` and ``num_batches_tracked`` (PyTorch's names)."""

    expected = ""  # the accepted input shapes, for error messages

    def _check_ndim(self, x: Tensor) -> bool:
        raise NotImplementedError

    @property
    def mixes_examples(self) -> bool:
        """Whether the forward mixes the examples of a batch (training mode: the batch's
        statistics), so that ``mg.vmap`` and per-sample gradients refuse it."""
        return self.training

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        who = f"{type(self).__name__}({self.num_features})"
        if level_of(x):  # under mg.vmap
            refuse_batch_statistics(self, f"mg.vmap: {who}")
        if not self._check_ndim(x) or x.shape[1] != self.num_features:
            expected = self.expected.replace("C", str(self.num_features))
            raise ShapeError(f"{who}: got input of shape {x.shape}; expected {expected}")
        use_batch_stats = self.training or not self.track_running_stats
        _check_batch(x, who, use_batch_stats)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        return batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            training=use_batch_stats, momentum=factor, eps=self.eps,
        )  # fmt: skip


class BatchNorm1d(_BatchNorm):
    """Batch norm of inputs (N, C) or (N, C, L), per channel C (statistics over N and L)."""

    expected = "(N, C) or (N, C, L)"

    def _check_ndim(self, x: Tensor) -> bool:
        return x.ndim in (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of images (N, C, H, W), per channel C (statistics over N, H and W)."""

    expected = "(N, C, H, W)"

    def _check_ndim(self, x: Tensor) -> bool:
        return x.ndim == 4


class LayerNorm(Module):
    """Layer norm over the last axes (``normalized_shape``), with elementwise ``weight``/``bias``
    of that shape (ones/zeros), as PyTorch's."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):  # fmt: skip
        super().__init__()
        dtype = parameter_dtype(type(self).__name__, dtype)
        self.normalized_shape = _normalized_shape(normalized_shape, type(self).__name__)
        self.eps = _real(eps, "eps", type(self).__name__)
        self.elementwise_affine = elementwise_affine
        shape = self.normalized_shape
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        _check_layer(x, self.normalized_shape, f"{type(self).__name__}({self.normalized_shape})")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")  # fmt: skip
