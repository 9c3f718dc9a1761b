"""One time step of an LSTM and of a GRU, each one primitive after the cell's matrix products.

A recurrent layer computes its input products for every time step at once (one ``Affine`` over
the whole sequence) and its hidden products step by step (one ``Affine`` per step); what is left
of a step is a dozen elementwise operations, which these primitives do in one node each:

- ``LSTMStep(xg, hg, c)``: ``xg`` (..., 4H) is ``x @ W_ih.T + b``, ``hg`` (..., 4H) is
  ``h @ W_hh.T`` (+ a bias), ``c`` (..., H) the cell state; gates in PyTorch's order i, f, g, o.
  The output is the new ``h`` and ``c`` stacked, shape (2, ..., H): ``y[0]`` is h, ``y[1]`` is c.
- ``GRUStep(xg, hg, h)``: ``xg`` (..., 3H) is ``x @ W_ih.T + b_ih``, ``hg`` (..., 3H) is
  ``h @ W_hh.T + b_hh`` (the bias must be inside: ``n`` multiplies it by ``r``), ``h`` (..., H);
  gates r, z, n. The output is the new h.

The rules recompute the gate activations from the inputs rather than keep them: that is a few
elementwise passes per step, no matrix product (the products are the ``Affine`` nodes' inputs).
Under ``mg.vmap`` a step is one step of a larger batch (``_batched_step``).
"""

import numpy as np

from ..primitive import Primitive, apply
from ._batched import logical_ndim
from ._tangents import add_tangents
from .elementwise import Tanh
from .math import ArrayMath
from .shape import BroadcastTo, Concatenate, Transpose, with_rank


def _lstm_constants(H: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column constants of the four gates i, f, g, o (sigmoid, sigmoid, tanh, sigmoid).

    ``sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5``, so all four activations are one expression,
    ``a = tanh(scale * z) * scale + (1 - scale)``, and their derivative ``da/dz`` is
    ``(1 - a) * (a + tanh_column)``: ``a (1 - a)`` for a sigmoid, ``1 - a^2`` for the tanh."""
    key = (H, np.dtype(dtype))
    if key in _constants:
        return _constants[key]
    scale = np.full(4 * H, 0.5, dtype)
    scale[2 * H : 3 * H] = 1
    tanh_column = np.zeros(4 * H, dtype)
    tanh_column[2 * H : 3 * H] = 1
    for array in (scale, tanh_column):
        array.flags.writeable = False
    made = scale, 1 - scale, tanh_column
    # NOTE: not kept if mg.compile is recording (its arrays are a subclass of ndarray then):
    # the recording's arrays must not outlive it.
    if type(scale) is np.ndarray and len(_constants) < 64:
        _constants[key] = made
    return made


_constants: dict = {}  # (H, dtype) -> what _lstm_constants makes


def _lstm_gates(z, xp):
    """The activations i, f, g, o of pre-activations ``z`` (..., 4H), in ``xp``."""
    scale, shift, _ = _lstm_constants(z.shape[-1] // 4, z.dtype)
    return xp.apply(Tanh, z * scale) * scale + shift


def _sigmoid(z, xp):
    return xp.apply(Tanh, z * 0.5) * 0.5 + 0.5


def _split(a, parts: int):
    size = a.shape[-1] // parts
    return [a[..., k * size : (k + 1) * size] for k in range(parts)]


def _batched_step(prim, xs, dims):
    """``prim`` (a step, elementwise over the leading axes) on a batch: every input brought to
    the whole batch's leading shape (B, ...), so each of the step's cotangents has its input's
    shape (the step's rules do not sum over broadcast axes), then one step."""
    B = next(v.shape[0] for v, d in zip(xs, dims) if d is not None)
    rank = max(logical_ndim(v, d) for v, d in zip(xs, dims))
    xs = [with_rank(v, d, rank) for v, d in zip(xs, dims)]
    leads = [v.shape[1:-1] if d is not None else v.shape[:-1] for v, d in zip(xs, dims)]
    lead = (B, *np.broadcast_shapes(*leads))
    whole = [v if v.shape[:-1] == lead else apply(BroadcastTo, v, shape=(*lead, v.shape[-1]))
             for v in xs]  # fmt: skip
    return apply(prim, *whole)


class LSTMStep(Primitive):
    """``(h', c')`` stacked, from pre-activations ``xg + hg`` (gates i, f, g, o) and ``c``:

    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (xg + hg)
    c' = f * c + i * g,    h' = o * tanh(c')
    """

    uses = ("x", "y")

    @staticmethod
    def batch(xs, dims):
        y = _batched_step(LSTMStep, xs, dims)  # (2, B, ..., H): the batch after h and c's axis
        return apply(Transpose, y, axes=(1, 0, *range(2, y.ndim)))

    @staticmethod
    def forward(xg, hg, c):
        H = c.shape[-1]
        scale, shift, _ = _lstm_constants(H, np.result_type(xg, hg))
        a = xg + hg
        a *= scale  # the gate activations, in place (see _lstm_constants)
        np.tanh(a, out=a)
        a *= scale
        a += shift
        i, f, g, o = _split(a, 4)
        out = np.empty((2, *c.shape), np.result_type(a, c))
        h_new, c_new = out
        np.multiply(f, c, out=c_new)
        c_new += i * g
        np.tanh(c_new, out=h_new)
        h_new *= o
        return out

    @staticmethod
    def vjp(g, y, xg, hg, c, xp):
        C = xp.value(c)
        a = _lstm_gates(xp.value(xg) + xp.value(hg), xp)
        i, f, gate, o = _split(a, 4)
        tanh_c = xp.apply(Tanh, xp.value(y)[1])
        g_h, g_c = g[0], g[1]
        g_c = g_c + g_h * o * (1 - tanh_c * tanh_c)  # everything that reaches c'
        last = a.ndim - 1
        g_a = xp.apply(Concatenate, g_c * gate, g_c * C, g_c * i, g_h * tanh_c, axis=last)
        _, _, tanh_column = _lstm_constants(a.shape[-1] // 4, a.dtype)
        g_z = g_a * (1 - a) * (a + tanh_column)
        return (
            g_z if xg.requires_grad else None,
            g_z if hg.requires_grad else None,
            g_c * f if c.requires_grad else None,
        )

    @staticmethod
    def jvp(ts, y, xg, hg, c):
        t_z, t_c = add_tangents(ts[0], ts[1]), ts[2]
        a = _lstm_gates(xg + hg, ArrayMath)
        i, f, g, o = _split(a, 4)
        tanh_c = np.tanh(y[1])
        t_c_new = None if t_c is None else f * t_c
        t_o = None
        if t_z is not None:
            _, _, tanh_column = _lstm_constants(a.shape[-1] // 4, a.dtype)
            t_i, t_f, t_g, t_o = _split(t_z * ((1 - a) * (a + tanh_column)), 4)
            t_c_new = add_tangents(t_c_new, t_f * c + t_i * g + i * t_g)
        t_h = (o * (1 - tanh_c * tanh_c)) * t_c_new
        if t_o is not None:
            t_h = t_h + t_o * tanh_c
        return np.stack([t_h, t_c_new], axis=1)


class GRUStep(Primitive):
    """The new ``h`` from ``xg`` and ``hg`` (gates r, z, n, ``hg`` with its bias) and ``h``:

    r = sigmoid(xg_r + hg_r),  z = sigmoid(xg_z + hg_z),  n = tanh(xg_n + r * hg_n)
    h' = (1 - z) * n + z * h
    """

    @staticmethod
    def batch(xs, dims):
        return _batched_step(GRUStep, xs, dims)

    @staticmethod
    def forward(xg, hg, h):
        H = h.shape[-1]
        rz = xg[..., : 2 * H] + hg[..., : 2 * H]
        rz *= 0.5  # sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5, in place
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        r, z = rz[..., :H], rz[..., H:]
        n = hg[..., 2 * H :] * r
        n += xg[..., 2 * H :]
        np.tanh(n, out=n)
        out = h - n
        out *= z
        out += n
        return out

    @staticmethod
    def vjp(g, y, xg, hg, h, xp):
        X, G, Hv = xp.value(xg), xp.value(hg), xp.value(h)
        H = Hv.shape[-1]
        rz = _sigmoid(X[..., : 2 * H] + G[..., : 2 * H], xp)
        r, z = rz[..., :H], rz[..., H:]
        hg_n = G[..., 2 * H :]
        n = xp.apply(Tanh, X[..., 2 * H :] + r * hg_n)
        last = rz.ndim - 1
        g_n = g * (1 - z) * (1 - n * n)  # into n's pre-activation
        g_rz = xp.apply(Concatenate, g_n * hg_n, g * (Hv - n), axis=last) * (rz * (1 - rz))
        g_r, g_z = g_rz[..., :H], g_rz[..., H:]
        return (
            xp.apply(Concatenate, g_r, g_z, g_n, axis=last) if xg.requires_grad else None,
            xp.apply(Concatenate, g_r, g_z, g_n * r, axis=last) if hg.requires_grad else None,
            g * z if h.requires_grad else None,
        )

    @staticmethod
    def jvp(ts, y, xg, hg, h):
        t_xg, t_hg, t_h = ts
        H = h.shape[-1]
        rz = _sigmoid(xg[..., : 2 * H] + hg[..., : 2 * H], ArrayMath)
        r, z = rz[..., :H], rz[..., H:]
        hg_n = hg[..., 2 * H :]
        n = np.tanh(xg[..., 2 * H :] + r * hg_n)
        t_pre = add_tangents(t_xg, t_hg)  # tangent of the r and z pre-activations
        terms = [] if t_h is None else [z * t_h]
        if t_pre is not None:
            t_rz = t_pre[..., : 2 * H] * (rz * (1 - rz))
            t_r, t_z = t_rz[..., :H], t_rz[..., H:]
            t_n = t_r * hg_n
            if t_xg is not None:
                t_n = t_n + t_xg[..., 2 * H :]
            if t_hg is not None:
                t_n = t_n + r * t_hg[..., 2 * H :]
            terms += [t_n * ((1 - n * n) * (1 - z)), t_z * (h - n)]
        return add_tangents(*terms)
