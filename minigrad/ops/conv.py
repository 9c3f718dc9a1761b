"""``Convolution``: a 2-D cross-correlation (PyTorch's ``conv2d``) as one primitive.

Its inputs are the image ``x`` (N, C, H, W), the weight (O, C / groups, kh, kw) and an optional
bias (O,); ``padding`` ((top, bottom), (left, right)), ``stride``, ``dilation`` (pairs) and
``groups`` are parameters. Forward: the zero-padded patches (``window.unfold``), one matrix
product with the weight and the bias (a column of ones beside the patches). The output
(N, O, OH, OW) is laid out (N, OH, OW, O) in memory: the product's rows as they come, so no
copy; the layers after it (ReLU, pooling) run over contiguous channels.

Reverse mode is two products and a fold, each only when its input needs it: the weight's and
the bias's cotangents together are ``g_rowsᵀ @ [patches 1]``, the image's the fold (``Fold``,
col2im) of ``g_rows @ weight``, cropped to the image. They are written with
``Unfold``, ``Fold``, ``Transpose`` and matrix products, so the set stays closed under VJP and
every higher derivative follows. Forward mode uses that the convolution is bilinear in
(x, weight) and linear in the bias.

Under ``mg.vmap`` (``batch``) a batch is one convolution: a batch of images alone is folded into
N; a batch of weights is one grouped convolution, its examples' filters side by side as
``B * groups`` groups against the images' channels side by side (or as more filters of the same
groups, when the image is not batched); a batched bias is added after.
"""

import numpy as np

from ..primitive import Primitive, apply
from ._tangents import add_tangents, batch_size
from .binary import Add
from .linalg import MatMul
from .shape import Reshape, Transpose
from .window import Fold, Unfold, output_size, padded_size, unfold


def product(patches, weight, groups: int):
    """Patches (rows, G * Kg) times a weight (O, C / G, kh, kw): (rows, O), a product a group."""
    O = weight.shape[0]
    if groups == 1:
        return patches @ weight.reshape((O, -1)).swapaxes(0, 1)
    rows = patches.shape[0]
    a = patches.reshape((rows, groups, -1)).swapaxes(0, 1)  # (G, rows, Kg)
    w = weight.reshape((groups, O // groups, -1)).swapaxes(1, 2)  # (G, Kg, O / G)
    return (a @ w).swapaxes(0, 1).reshape((rows, O))


def weight_cotangent(g_rows, patches, groups: int, shape):
    """The weight's cotangent from the rows' (rows, O) and the patches (rows, G * Kg)."""
    if groups == 1:
        return (g_rows.swapaxes(0, 1) @ patches).reshape(shape)
    rows, O = g_rows.shape
    g = g_rows.reshape((rows, groups, O // groups)).swapaxes(0, 1)  # (G, rows, O / G)
    a = patches.reshape((rows, groups, -1)).swapaxes(0, 1)  # (G, rows, Kg)
    return (g.swapaxes(1, 2) @ a).reshape(shape)


def patches_cotangent(g_rows, weight, groups: int):
    """The patches' cotangent (rows, G * Kg) from the rows' (rows, O)."""
    O = weight.shape[0]
    if groups == 1:
        return g_rows @ weight.reshape((O, -1))
    rows = g_rows.shape[0]
    g = g_rows.reshape((rows, groups, O // groups)).swapaxes(0, 1)  # (G, rows, O / G)
    return (g @ weight.reshape((groups, O // groups, -1))).swapaxes(0, 1).reshape((rows, -1))


class Convolution(Primitive):
    """``conv2d(x, weight, bias)`` of a batch x (N, C, H, W): (N, O, OH, OW)."""

    holomorphic = True

    @staticmethod
    def batch(xs, dims, padding, stride, dilation, groups):
        x, weight = xs[0], xs[1]
        bias, db = (xs[2], dims[2]) if len(xs) > 2 else (None, None)
        params = dict(padding=padding, stride=stride, dilation=dilation)
        if dims[0] is None and dims[1] is None:  # only the bias is batched
            y = apply(Convolution, x, weight, groups=groups, **params)
            y = apply(Reshape, y, shape=(1, *y.shape))
        elif dims[1] is None:  # one weight: the examples' images are more images
            B, N = x.shape[:2]
            images = apply(Reshape, x, shape=(B * N, *x.shape[2:]))
            inside = [bias] if bias is not None and db is None else []  # in the product
            y = apply(Convolution, images, weight, *inside, groups=groups, **params)
            y = apply(Reshape, y, shape=(B, N, *y.shape[1:]))
        else:
            y = _batched_weights(x, dims[0], weight, groups, params)
            if bias is not None and db is None:
                db, bias = 0, apply(Reshape, bias, shape=(1, -1))  # the same for every example
        if db is not None:  # (B or 1, O) as (B or 1, 1, O, 1, 1)
            y = apply(Add, y, apply(Reshape, bias, shape=(bias.shape[0], 1, -1, 1, 1)))
        return y

    @staticmethod
    def forward(x, weight, bias=None, *, padding, stride, dilation, groups):
        N, O = x.shape[0], weight.shape[0]
        OH, OW = output_size(padded_size(x.shape[2:], padding), weight.shape[2:], stride, dilation)
        if bias is not None and groups == 1:
            # NOTE: the bias inside the product, as a row of the weight matrix against a column
            # of ones after the patches: no pass over the output to add it, and the weight
            # matrix (C * kh * kw + 1, O) contiguous; measured 0.7x the time of a product and
            # an add in place.
            rows = unfold(x, weight.shape[2:], stride, dilation, padding, ones=True)
            W = np.concatenate([weight.reshape((O, -1)).T, bias.reshape((1, O))])
            y = rows @ W
        else:
            patches = unfold(x, weight.shape[2:], stride, dilation, padding)
            y = product(patches.reshape((N * OH * OW, -1)), weight, groups)
            if bias is not None:
                # NOTE: in place (the product's result is ours): one pass less over the output
                # than ``y + bias`` and no fresh array to fault in.
                y = np.add(y, bias, out=y if np.result_type(y, bias) == y.dtype else None)
        return y.reshape((N, OH, OW, O)).transpose(0, 3, 1, 2)

    @staticmethod
    def vjp(g, y, x, weight, bias=None, *, padding, stride, dilation, groups, xp):
        N, O, OH, OW = y.shape
        window = dict(kernel=weight.shape[2:], stride=stride, dilation=dilation, padding=padding)
        # (N, O, OH, OW) -> rows (N * OH * OW, O): a view when g keeps y's layout.
        g_rows = xp.apply(Transpose, g, axes=(0, 2, 3, 1)).reshape((N * OH * OW, O))
        W = xp.value(weight)
        gx = gw = gb = None
        if x.requires_grad:
            g_patches = patches_cotangent(g_rows, W, groups)
            g_patches = g_patches.reshape((N, OH, OW, x.shape[1]) + weight.shape[2:])
            gx = xp.apply(Fold, g_patches, size=x.shape[2:], **window)
        bias_grad = bias is not None and bias.requires_grad
        if groups == 1 and (weight.requires_grad or bias_grad):
            # NOTE: the patches with their column of ones, as in the forward: the weight's and
            # the bias's cotangents come out of one product, (rowsᵀ @ g_rows)ᵀ (O, K + 1), which
            # with the long axis innermost in both operands measured 0.8x the time of
            # g_rowsᵀ @ patches (and no second product for the bias).
            rows = xp.apply(Unfold, xp.value(x), ones=True, **window)
            both = (rows.swapaxes(0, 1) @ g_rows).swapaxes(0, 1)
            gw = both[:, :-1].reshape(weight.shape) if weight.requires_grad else None
            gb = both[:, -1] if bias_grad else None
        else:
            if weight.requires_grad:
                patches = xp.apply(Unfold, xp.value(x), **window).reshape((N * OH * OW, -1))
                gw = weight_cotangent(g_rows, patches, groups, weight.shape)
            if bias_grad:
                # NOTE: a product with ones, not g_rows.sum(axis=0): numpy's sum over the long
                # axis of a (rows, O) matrix runs O-wide inner loops, measured 10x slower.
                ones = np.ones((1, N * OH * OW), y.dtype)
                gb = xp.apply(MatMul, ones, g_rows).reshape((O,))
        return (gx, gw) if bias is None else (gx, gw, gb)

    @staticmethod
    def jvp(ts, y, x, weight, bias=None, *, padding, stride, dilation, groups):
        tx, tw = ts[0], ts[1]
        tb = ts[2] if len(ts) > 2 else None
        B, (N, O, OH, OW) = batch_size(ts), y.shape
        params = dict(padding=padding, stride=stride, dilation=dilation, groups=groups)
        from_x = from_w = from_b = None
        if tx is not None:  # the tangent batch folded into N
            from_x = Convolution.forward(tx.reshape((-1,) + x.shape[1:]), weight, **params)
            from_x = from_x.reshape((B,) + y.shape)
        if tw is not None:
            patches = unfold(x, weight.shape[2:], stride, dilation, padding)
            patches = patches.reshape((N * OH * OW, -1))
            rows = np.stack([product(patches, w, groups) for w in tw])  # (B, rows, O)
            from_w = rows.reshape((B, N, OH, OW, O)).transpose(0, 1, 4, 2, 3)
        if tb is not None:
            from_b = np.broadcast_to(tb[:, None, :, None, None], (B,) + y.shape)
        return add_tangents(from_x, from_w, from_b)


def _batched_weights(x, dx, weight, groups: int, params):
    """A batch of weights (B, O, C / G, kh, kw) against images (B or one: N, C, H, W) as one
    grouped convolution: (B, N, O, OH, OW), no bias."""
    B, O = weight.shape[:2]
    kernel = weight.shape[2:]
    if dx is None:
        # The same images for every example: the examples' filters are more filters of the
        # same groups, ordered group by group (g, B, O / G), as a grouped weight's must be.
        w = apply(Reshape, weight, shape=(B, groups, O // groups, *kernel))
        w = apply(Transpose, w, axes=(1, 0, 2, 3, 4, 5))
        w = apply(Reshape, w, shape=(B * O, *kernel))
        y = apply(Convolution, x, w, groups=groups, **params)  # (N, g B O / G, OH, OW)
        N, OH, OW = y.shape[0], *y.shape[2:]
        y = apply(Reshape, y, shape=(N, groups, B, O // groups, OH, OW))
        y = apply(Transpose, y, axes=(2, 0, 1, 3, 4, 5))
        return apply(Reshape, y, shape=(B, N, O, OH, OW))
    # Each example's channels a block of the images' channels (N, B C, H, W), each example's
    # filters the B G groups' filters (B O, C / G, kh, kw).
    N, C = x.shape[1:3]
    images = apply(Transpose, x, axes=(1, 0, 2, 3, 4))
    images = apply(Reshape, images, shape=(N, B * C, *x.shape[3:]))
    w = apply(Reshape, weight, shape=(B * O, *weight.shape[2:]))
    y = apply(Convolution, images, w, groups=B * groups, **params)  # (N, B O, OH, OW)
    y = apply(Reshape, y, shape=(N, B, O, *y.shape[2:]))
    return apply(Transpose, y, axes=(1, 0, 2, 3, 4))
