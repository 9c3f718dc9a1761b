"""Primitives: operations that know their own derivatives, and ``apply``, which runs one.

``apply(Prim, *tensors, **params)`` runs ``Prim.forward`` on the tensors' data and wraps the
result as a Tensor; when grad mode is on and an input requires grad it records a ``Node`` (the
engine's, in autodiff.py), and in forward mode it pushes the inputs' tangents through
``Prim.jvp``. Every operation of minigrad goes through here.
"""

from __future__ import annotations

import numpy as np

from . import anomaly, batching
from .autodiff import Node, mode
from .errors import BackwardError, DTypeError, IndexingError, MinigradError, OpError
from .tensor import Tensor, initialize

registry: dict[str, type[Primitive]] = {}


class Primitive:
    """An operation with its own derivative rules. Subclass it to define a custom op.

    - ``forward(*arrays, **params) -> ndarray``: numpy in, numpy out.
    - ``vjp(g, y, *xs, **params) -> tuple``: reverse mode, written in Tensor ops. ``g`` is the
      cotangent of the output, ``y`` the output Tensor and ``xs`` the input Tensors; return one
      cotangent (Tensor, or None for "no gradient") per input.
    - ``jvp(ts, y, *xs, **params) -> ndarray``: forward mode in numpy. ``ts[i]`` is the tangent of
      input ``i`` with a leading batch axis, shape ``(B, *xs[i].shape)``, or None when that input
      carries none; ``y`` and ``xs`` are ndarrays. Return the output tangent, ``(B, *y.shape)``.

    ``uses = ("x",)`` lists which saved values the rules read ("x": the inputs, "y": the output);
    backward refuses to run if one of those was modified in place after the forward pass.
    ``holomorphic = True`` declares that ``forward`` extends analytically to complex inputs, which
    gradient checking by complex step needs.
    Apply with ``MyOp.apply(x1, x2, ..., param=value)``.

    minigrad's own primitives (``builtin``) write ``vjp(g, y, *xs, xp, **params)`` once for two
    kinds of backward pass: ``xp`` is the namespace the rule computes in (``ops.math``). In a
    plain backward ``g`` is an ndarray and ``xp`` works on arrays, which saves a Tensor per
    cotangent; under ``create_graph`` or forward mode ``g`` is a Tensor and ``xp`` records.
    """

    uses: tuple[str, ...] = ("x",)
    holomorphic: bool = False
    # Optional, in forward mode: ``forward_and_jvp(ts, *xs, **params) -> (y, tangent) | None``,
    # the output and its tangent computed together where that is cheaper than ``forward`` then
    # ``jvp`` (``MatMul``: one product for both); None from it means "not here": the two rules
    # run as usual. The values must be those of ``forward`` and ``jvp`` (up to rounding).
    forward_and_jvp = None
    builtin: bool = False  # set for minigrad's own primitives (see __init_subclass__)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.forward is Primitive.forward:
            return  # an abstract family (like ops.Elementwise), not an operation
        # Built-ins by name; a user's primitive by its full name, so it never shadows one.
        cls.builtin = cls.__module__.startswith("minigrad.ops")
        registry[cls.__name__ if cls.builtin else f"{cls.__module__}.{cls.__qualname__}"] = cls

    @staticmethod
    def forward(*xs, **params):
        raise NotImplementedError

    @classmethod
    def vjp(cls, g, y, *xs, **params):
        raise BackwardError(
            f"{cls.__name__} has no vjp rule, so reverse mode (backward) cannot pass through "
            f"it; define vjp(g, y, *xs) returning one cotangent per input"
        )

    @classmethod
    def jvp(cls, ts, y, *xs, **params):
        raise BackwardError(
            f"{cls.__name__} has no jvp rule, so forward mode cannot pass through it; define "
            f"jvp(ts, y, *xs) returning the output tangent with the leading batch axis"
        )

    @classmethod
    def batch(cls, xs, dims, **params):
        """The batching rule (``mg.vmap``): ``xs`` are Tensors, ``dims[i]`` is 0 where ``xs[i]``
        carries a batch on its leading axis and None where it is not batched; return the result
        with the batch on its leading axis, computed with operations (so that it is
        differentiated as any computation). Without one, ``vmap`` loops over the batch."""
        return batching.loop_fallback(cls, xs, dims, params, apply)

    @classmethod
    def apply(cls, *inputs, **params):
        """Apply this primitive to Tensors (arrays and numbers become constants)."""
        return apply(cls, *[x if isinstance(x, Tensor) else Tensor(x) for x in inputs], **params)


def apply(prim, *xs, **params):
    """Run ``prim.forward`` on the data of Tensors ``xs``, wrap the result, and when needed put
    a node on the tape and push tangents. This is every operation's hot path: keep it short."""
    now = mode()
    if now.watching:
        if now.vmap_level:  # mg.vmap: a batched input makes this the primitive's batching rule
            out = batching.apply_batched(prim, xs, params, now, apply)
            if out is not None:
                return out
        if now.recording is not None:  # mg.compile: the inputs' data seen through recording views
            now.recording.bind(xs)
        if prim.forward_and_jvp is not None and now.forward_level:
            out = _apply_jointly(prim, xs, params, now)
            if out is not None:
                return out
    try:
        if params:
            y = prim.forward(*[x.data for x in xs], **params)
        else:
            params = _NO_PARAMS  # one shared empty dict, not one kept by every node
            n = len(xs)
            if n == 1:
                y = prim.forward(xs[0].data)
            elif n == 2:
                y = prim.forward(xs[0].data, xs[1].data)
            elif n == 3:
                y = prim.forward(xs[0].data, xs[1].data, xs[2].data)
            else:
                y = prim.forward(*[x.data for x in xs])
    except MinigradError:
        raise
    except (ValueError, IndexError, TypeError) as e:
        shapes = ", ".join(f"{x.shape} {x.dtype}" for x in xs)
        error = {IndexError: IndexingError, TypeError: DTypeError}.get(type(e), OpError)
        raise error(f"{prim.__name__}: {e} (inputs: {shapes})") from e
    out = _new(Tensor)  # NOTE: not constant(y), which is one more call on every operation
    initialize(out, y)
    if now.grad_enabled:
        for x in xs:
            if x.requires_grad:
                out.requires_grad = True
                out._node = Node(prim, xs, params, now.scope)
                break
    if now.watching:
        _inspect(prim, xs, out, params, now)
    return out


def _apply_jointly(prim, xs, params, now):
    """``apply`` in forward mode by ``prim.forward_and_jvp``; None where it declines (or fails:
    then ``apply`` runs the rules one by one and reports the error as usual)."""
    ts = [x.tangent for x in xs]
    for t in ts:
        if t is not None:
            break
    else:
        return None
    try:
        both = prim.forward_and_jvp(ts, *[x.data for x in xs], **params)
    except (ValueError, IndexError, TypeError):
        return None
    if both is None:
        return None
    out = _new(Tensor)
    initialize(out, both[0])
    out.tangent = both[1]
    if now.grad_enabled and any(x.requires_grad for x in xs):
        out.requires_grad = True
        out._node = Node(prim, xs, params, now.scope)
    if now.detect_anomaly:
        _check_finite(prim, xs, out)
    return out


def _inspect(prim, xs, out, params, now):
    """What the watching modes do with each result: push tangents, look for NaN and Inf."""
    if now.forward_level:
        for x in xs:
            if x.tangent is not None:
                out.tangent = prim.jvp(
                    [x.tangent for x in xs], out.data, *[x.data for x in xs], **params
                )
                break
    if now.detect_anomaly:
        _check_finite(prim, xs, out)


def _check_finite(prim, xs, out):
    """Anomaly detection: the result and its tangent must be finite."""
    origin = anomaly.user_line()
    if out._node is not None:
        out._node.origin = origin
    for what in (out.data, out.tangent):
        if what is not None and not anomaly.finite(what):
            raise anomaly.AnomalyError(anomaly.describe(prim.__name__, xs, what, origin))


def check_user_cotangents(prim, grads, parents) -> None:
    """Refuse what a user's ``vjp`` returned unless it is one cotangent (or None) per input, of
    that input's shape: a wrong one would otherwise surface later, far from its cause."""
    if not isinstance(grads, tuple | list) or len(grads) != len(parents):
        got = f"{len(grads)} values" if isinstance(grads, tuple | list) else type(grads).__name__
        raise BackwardError(
            f"{prim.__name__}.vjp returned {got} for {len(parents)} inputs; a vjp must return a "
            f"tuple with one cotangent (or None) per input, e.g. ``return (g * 2,)`` for one input"
        )
    for x, g in zip(parents, grads):
        if g is not None and np.shape(g) != x.data.shape:
            raise BackwardError(
                f"{prim.__name__}.vjp returned a cotangent of shape {np.shape(g)} for an input "
                f"of shape {x.shape}; a vjp must return one cotangent per input, each of that "
                f"input's shape"
            )


_new = object.__new__
_NO_PARAMS: dict = {}  # a node's params when it has none; shared, so never written to
