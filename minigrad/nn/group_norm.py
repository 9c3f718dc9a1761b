"""Normalisation within each sample: ``group_norm``/``instance_norm`` and ``GroupNorm``,
``InstanceNorm1d``, ``InstanceNorm2d``, with PyTorch's semantics.

Group norm normalises each sample's channels in ``num_groups`` groups, each over its channels
and all spatial positions; instance norm normalises each (sample, channel) over its spatial
positions, which is group norm with one channel per group. Neither depends on the batch, so
both train with batches of one. Composites of mean, sqrt and broadcasting, as batch norm.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from ..errors import ShapeError
from ..functions import as_tensor, sqrt
from ..tensor import Tensor
from .checks import check_size, parameter_dtype
from .module import Module, Parameter
from .normalization import NormBase, _check_running, _per_channel, _real, _update

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "group_norm", "instance_norm"]

# ----- functional --------------------------------------------------------------------------------


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` over ``axes``, biased variance."""
    centred = x - x.mean(axes, keepdims=True)
    return centred / sqrt((centred * centred).mean(axes, keepdims=True) + eps)


def _affine(y: Tensor, weight, bias, channels: int, who: str) -> Tensor:
    """``y * weight + bias`` with one value per channel (axis 1)."""
    view = (1, channels) + (1,) * (y.ndim - 2)
    weight = _per_channel(weight, "weight", channels, view, who)
    bias = _per_channel(bias, "bias", channels, view, who)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise ``input`` (N, C, *) in ``num_groups`` groups of C / num_groups channels, each
    over its channels and positions, then scale and shift per channel, as PyTorch's:

        y = (x - mean_g) / sqrt(var_g + eps) * weight[c] + bias[c]

    with the mean and biased variance of sample n's group g (the one holding channel c).
    ``weight`` and ``bias`` of shape (C,) may be None.
    """
    x = as_tensor(input)
    eps = _real(eps, "eps", "group_norm")
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected input of shape (N, C, *), got shape {x.shape}")
    N, C = x.shape[:2]
    groups = operator.index(num_groups)
    if groups < 1 or C % groups:
        raise ShapeError(
            f"group_norm: got input of shape {x.shape}: its {C} channels must be divisible by "
            f"num_groups={num_groups}"
        )
    grouped = x.reshape((N, groups, -1))
    y = _normalize(grouped, (2,), eps).reshape(x.shape)
    return _affine(y, weight, bias, C, "group_norm")


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Normalise each channel of each sample of ``input`` (N, C, *) over its positions, as
    PyTorch's instance norm: ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    With ``use_input_stats`` (the default) the statistics are each instance's (biased
    variance), and running statistics, if given (float Tensors or arrays of shape (C,)), are
    updated in place with their mean over the batch: ``running = (1 - momentum) * running +
    momentum * batch_mean`` (the unbiased variance for ``running_var``). Otherwise
    ``running_mean`` and ``running_var`` normalise.
    """
    x = as_tensor(input)
    who = "instance_norm"
    eps = _real(eps, "eps", who)
    momentum = _real(momentum, "momentum", who)
    if x.ndim < 3:
        raise ShapeError(f"{who}: expected input of shape (N, C, *) with positions, got {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ShapeError(f"{who}: give both running_mean and running_var, or neither")
    C = x.shape[1]
    axes = tuple(range(2, x.ndim))
    view = (1, C) + (1,) * (x.ndim - 2)
    if use_input_stats:
        if x[0, 0].numel() <= 1:
            raise ShapeError(
                f"{who}: got input of shape {x.shape}; instance statistics need more than 1 "
                f"value per channel"
            )
        y = _normalize(x, axes, eps)
        if running_mean is not None:
            _per_channel(running_mean, "running_mean", C, view, who)
            _per_channel(running_var, "running_var", C, view, who)
            _check_running(running_mean, "running_mean", who, "use_input_stats=True")
            _check_running(running_var, "running_var", who, "use_input_stats=True")
            count = x[0, 0].numel()
            mean = x.data.mean(axis=axes)  # (N, C)
            var = x.data.var(axis=axes) * (count / (count - 1))
            _update(running_mean, mean.mean(axis=0), momentum)
            _update(running_var, var.mean(axis=0), momentum)
    else:
        if running_mean is None:
            raise ShapeError(
                f"{who}: use_input_stats=False normalises with running_mean and running_var; "
                f"give them"
            )
        mean = _per_channel(running_mean, "running_mean", C, view, who).data
        var = _per_channel(running_var, "running_var", C, view, who).data
        y = (x - mean) * (1 / np.sqrt(var + eps))
    return _affine(y, weight, bias, C, who)


# ----- modules -----------------------------------------------------------------------------------


class GroupNorm(Module):
    """Group norm (see ``group_norm``) with per-channel ``weight`` (ones) and ``bias`` (zeros)
    when ``affine`` (``bias=False``: the weight only), as PyTorch's. ``num_channels`` must be
    divisible by ``num_groups``.

    >>> import minigrad as mg
    >>> GroupNorm(4, 16)(mg.randn(2, 16, 5, 5)).shape
    (2, 16, 5, 5)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype=None, *, bias: bool = True):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        dtype = parameter_dtype(who, dtype)
        num_groups = check_size(who, "num_groups", num_groups)
        num_channels = check_size(who, "num_channels", num_channels)
        if num_groups < 1 or num_channels % num_groups:
            raise ShapeError(
                f"{who}: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = _real(eps, "eps", who), affine
        self.weight = Parameter(np.ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype=dtype)) if affine and bias else None

    def forward(self, input: Tensor) -> Tensor:
        x = as_tensor(input)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm({self.extra_repr()}): got input of shape {x.shape}; expected "
                f"(N, {self.num_channels}, *)"
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")  # fmt: skip


class _InstanceNorm(NormBase):
    """Instance norm over axis 1 with PyTorch's defaults: no affine parameters, no running
    statistics. ``affine=True`` adds ``weight``/``bias`` (ones/zeros; ``bias=False``: the weight
    only); ``track_running_stats=True`` the buffers ``running_mean``, ``running_var`` and
    ``num_batches_tracked``, updated in training and used in eval mode. As in PyTorch,
    ``momentum=None`` leaves the running statistics as they are (no cumulative average) and
    ``num_batches_tracked`` is not counted."""

    dims = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, dtype=None, *,
                 bias: bool = True):  # fmt: skip
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype,
                         bias=bias)  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        x = as_tensor(input)
        who = f"{type(self).__name__}({self.extra_repr()})"
        spatial = "L" if self.dims == 1 else "H, W"
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ShapeError(
                f"{who}: got input of shape {x.shape}; expected (N, C, {spatial}) or (C, {spatial})"
            )
        unbatched = x.ndim == self.dims + 1
        if unbatched:
            x = x.reshape((1,) + x.shape)
        if x.shape[1] != self.num_features:
            message = (
                f"{who}: got input of shape {x.shape} with {x.shape[1]} channels; expected "
                f"num_features={self.num_features}"
            )
            if self.affine or self.track_running_stats:
                raise ShapeError(message)
            # As PyTorch: without per-channel state the count is not used, only questioned.
            warnings.warn(message, stacklevel=2)
        use_input_stats = self.training or not self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        y = instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            use_input_stats=use_input_stats, momentum=factor, eps=self.eps,
        )  # fmt: skip
        return y[0] if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of sequences (N, C, L) or (C, L), per sample and channel over L."""

    dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of images (N, C, H, W) or (C, H, W), per sample and channel over H, W.

    >>> import minigrad as mg
    >>> InstanceNorm2d(3)(mg.randn(2, 3, 8, 8)).shape
    (2, 3, 8, 8)
    """

    dims = 2
