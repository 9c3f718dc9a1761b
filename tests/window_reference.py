"""What the tests of the sliding-window layers share: inputs whose values PyTorch's were computed
from (written into the tests), and references that compute one output element at a time from
PyTorch's documented definitions."""

from __future__ import annotations

import itertools

import numpy as np


def ramp(*shape, shift: int = 0, scale: float = 0.25) -> np.ndarray:
    """Deterministic multiples of ``scale`` in [-5 scale, 5 scale], without a short period: the
    inputs the PyTorch values in these tests were computed from."""
    n = int(np.prod(shape))
    return ((np.arange(n) * 7 + shift) % 11 - 5).reshape(shape) * scale


def conv_loop(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x_pad[n, g C/G + c, i s + p d, ...]."""
    x = np.pad(x, ((0, 0), (0, 0), *pads))
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    OH, OW = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, O, OH, OW))
    for n, o, i, j in itertools.product(range(N), range(O), range(OH), range(OW)):
        group = o // (O // groups)
        total = 0.0 if b is None else b[o]
        for c, p, q in itertools.product(range(Cg), range(kh), range(kw)):
            total += w[o, c, p, q] * x[n, group * Cg + c, i * sh + p * dh, j * sw + q * dw]
        out[n, o, i, j] = total
    return out


def conv1d_loop(x, w, b=None, stride=1, pads=(0, 0), dilation=1, groups=1):
    """out[n, o, i] = b[o] + sum_{c, p} w[o, c, p] x_pad[n, g C/G + c, i s + p d]."""
    x = np.pad(x, ((0, 0), (0, 0), pads))
    N, C, L = x.shape
    O, Cg, k = w.shape
    OL = (L - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((N, O, OL))
    for n, o, i in itertools.product(range(N), range(O), range(OL)):
        group = o // (O // groups)
        total = 0.0 if b is None else b[o]
        for c, p in itertools.product(range(Cg), range(k)):
            total += w[o, c, p] * x[n, group * Cg + c, i * stride + p * dilation]
        out[n, o, i] = total
    return out


def conv_transpose_loop(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                        groups=1, dilation=(1, 1)):  # fmt: skip
    """PyTorch's definition, pixel by pixel: input pixel (i, j) of channel c adds
    ``x[n, c, i, j] * w[c, o]`` at rows ``i s + p d`` (columns alike) of the full output, which is
    then cropped by ``padding`` at both ends and extended by ``output_padding`` at the end."""
    N, C, H, W = x.shape
    _, Og, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    full = np.zeros((N, Og * groups, (H - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (W - 1) * sw + dw * (kw - 1) + 1 + opw))  # fmt: skip
    for n, c, i, j in itertools.product(range(N), range(C), range(H), range(W)):
        group = c // (C // groups)
        for o, p, q in itertools.product(range(Og), range(kh), range(kw)):
            full[n, group * Og + o, i * sh + p * dh, j * sw + q * dw] += (
                x[n, c, i, j] * w[c, o, p, q]
            )
    out = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    return out if b is None else out + b[:, None, None]


def pool1d_loop(x, kernel, stride, padding, reduce, fill, dilation=1, ceil_mode=False):
    """reduce() of each window of x (N, C, L) padded with ``fill``, PyTorch's output size."""
    L = x.shape[-1]
    span = L + 2 * padding - dilation * (kernel - 1) - 1
    size = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (size - 1) * stride >= L + padding:
        size -= 1
    right = max(padding, (size - 1) * stride + dilation * (kernel - 1) + 1 - L - padding)
    x = np.pad(x, ((0, 0), (0, 0), (padding, right)), constant_values=fill)
    out = np.zeros(x.shape[:2] + (size,))
    for n, c, i in itertools.product(range(x.shape[0]), range(x.shape[1]), range(size)):
        out[n, c, i] = reduce(x[n, c, [i * stride + p * dilation for p in range(kernel)]])
    return out


def adaptive_loop(x, sizes, reduce):
    """reduce() of each of PyTorch's bins [floor(i n / o), ceil((i + 1) n / o)) over the last
    ``len(sizes)`` dims of x."""
    spatial = x.shape[x.ndim - len(sizes) :]
    out = np.zeros(x.shape[: x.ndim - len(sizes)] + tuple(sizes))
    for index in itertools.product(*map(range, sizes)):
        window = tuple(
            slice(i * n // o, -(-(i + 1) * n // o)) for i, n, o in zip(index, spatial, sizes)
        )
        block = x[(Ellipsis,) + window]
        out[(Ellipsis,) + index] = reduce(block.reshape(block.shape[: x.ndim - len(sizes)] + (-1,)))
    return out
