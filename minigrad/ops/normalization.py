"""``LayerNorm``: normalisation over the trailing axes, with its elementwise weight and bias, as
one primitive.

As a composite (mean, centre, square, mean, add, sqrt, divide, scale, shift) it is a dozen
operations forward and more backward, and a transformer runs two per block: as one primitive,
examples/tiny_gpt.py's training step takes about a tenth less time (measured side by side).
"""

import numpy as np

from ..primitive import Primitive, apply
from ._tangents import add_tangents, shift


def _statistics(x, axes, eps):
    """``x`` normalised over ``axes`` (x - mean) / sqrt(var + eps), and 1 / sqrt(var + eps);
    the same expressions on ndarrays and Tensors."""
    centred = x - x.mean(axis=axes, keepdims=True)
    inverse_std = ((centred * centred).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return centred * inverse_std, inverse_std


class LayerNorm(Primitive):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` over the trailing ``axes`` of ``x``,
    with the biased variance. ``parts`` names the inputs after ``x``: ``("weight", "bias")``,
    one of them, or none; each has the shape of the normalised axes.

    With x^ the normalised input and r = 1 / sqrt(var + eps), the cotangent of x is
    ``r (h - mean(h) - x^ mean(h x^))`` with h = g * weight, the means over ``axes``.
    """

    uses = ("x",)
    holomorphic = False  # a variance is real

    @staticmethod
    def batch(xs, dims, axes, eps, parts):
        """One ``LayerNorm`` over the batch (the normalised axes stay the trailing ones), with
        the weight and bias up to the first batched one; that one and the rest applied after,
        lined up with the examples."""
        x, rank = xs[0], len(axes)
        first = next((k for k, d in enumerate(dims[1:]) if d is not None), len(parts))
        if dims[0] is not None:
            axes = tuple(a + 1 for a in axes)
        y = apply(LayerNorm, x, *xs[1 : first + 1], axes=axes, eps=eps, parts=parts[:first])
        lead = x.ndim - rank - (dims[0] is not None)  # the axes of an example before ``axes``
        for name, value, dim in zip(parts[first:], xs[first + 1 :], dims[first + 1 :]):
            if dim is not None:  # (B, *normalised) against (B?, *lead, *normalised)
                value = value.reshape((value.shape[0], *(1,) * lead, *value.shape[1:]))
            y = y * value if name == "weight" else y + value
        return y

    @staticmethod
    def forward(x, *affine, axes, eps, parts):
        centred = x - x.mean(axis=axes, keepdims=True)
        y = centred / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
        for name, value in zip(parts, affine):
            y = y * value if name == "weight" else y + value
        return y

    @staticmethod
    def vjp(g, y, x, *affine, axes, eps, parts, xp):
        normalised, inverse_std = _statistics(xp.value(x), axes, eps)
        lead = tuple(range(x.ndim - len(axes)))  # the axes the weight and bias broadcast over
        grads, h = [], g
        for name, value in zip(parts, affine):
            if name == "weight":
                h = g * xp.value(value)
            if not value.requires_grad:
                grads.append(None)
                continue
            per_element = g * normalised if name == "weight" else g
            grads.append(per_element.sum(axis=lead) if lead else per_element)
        gx = None
        if x.requires_grad:
            centred = h - h.mean(axis=axes, keepdims=True)
            along = (h * normalised).mean(axis=axes, keepdims=True)
            gx = (centred - normalised * along) * inverse_std
        return (gx, *grads)

    @staticmethod
    def jvp(ts, y, x, *affine, axes, eps, parts):
        normalised, inverse_std = _statistics(x, axes, eps)
        B, batch_axes = next(t for t in ts if t is not None).shape[0], shift(axes)
        view = (B,) + (1,) * (x.ndim - len(axes)) + x.shape[x.ndim - len(axes) :]
        weight = dict(zip(parts, affine)).get("weight")
        terms = []
        if ts[0] is not None:
            t = ts[0]
            centred = t - t.mean(axis=batch_axes, keepdims=True)
            along = (t * normalised).mean(axis=batch_axes, keepdims=True)
            dx = (centred - normalised * along) * inverse_std
            terms.append(dx if weight is None else dx * weight)
        for name, t in zip(parts, ts[1:]):
            if t is not None:
                t = t.reshape(view)
                terms.append(t * normalised if name == "weight" else t)
        return np.broadcast_to(add_tangents(*terms), (B, *y.shape))
