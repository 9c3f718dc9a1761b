"""``mg.autograd``: backward passes on Tensors, with PyTorch's ``torch.autograd`` functions.

``backward(tensor, grad)`` accumulates into the leaves' ``.grad`` (``Tensor.backward``);
``grad(outputs, inputs)`` returns the gradients instead; ``Function`` defines an operation with
its own backward, as ``torch.autograd.Function``. Both run the engine's ``walk`` and do
the Tensor side of it: the first cotangent, which namespace the rules compute in, and handing out
the finished cotangents. ``toposort`` lists a graph in order, for tools that inspect it;
``forward_mode`` pushes tangents.

A cotangent has one of two forms for a whole pass. In a plain backward (no ``create_graph``, no
forward mode) it is an ndarray, and built-in rules compute with ``ArrayMath``; when the backward
pass is to be differentiated itself (``create_graph=True``, or forward-over-reverse), it is a
Tensor, and they compute with ``TensorMath``. A user's rule always receives Tensors.
"""

from __future__ import annotations

import operator
import threading

import numpy as np

from . import functions
from .autodiff import GradMode, forward_mode, grad_set, mode, restore, switch_grad
from .autograd_function import Function, FunctionCtx
from .backward import accumulate, toposort, walk
from .batching import BatchedArray
from .dual import Dual, DualMath, as_dual
from .dual import as_tensor as dual_tensor
from .errors import BackwardError, missing_names
from .methods import provide
from .ops import ArrayMath, ScatterAdd
from .primitive import check_user_cotangents
from .tensor import Tensor, constant

__all__ = ["Function", "FunctionCtx", "backward", "forward_mode", "grad", "toposort"]


class TensorMath:
    """What built-in rules compute with when the backward pass is recorded: minigrad's own
    functions on Tensor cotangents, so that the gradients can be differentiated again. The
    names mirror ``ops.math.ArrayMath``."""

    @staticmethod
    def value(t: Tensor) -> Tensor:
        return t

    @staticmethod
    def apply(prim, *args, **params) -> Tensor:
        return prim.apply(*args, **params)

    @staticmethod
    def scatter(g, index: tuple, shape: tuple) -> Tensor:
        return ScatterAdd.apply(g, index=index, shape=shape)

    broadcast_to = staticmethod(functions.broadcast_to)
    where = staticmethod(functions.where)
    exp = staticmethod(functions.exp)
    log = staticmethod(functions.log)
    sign = staticmethod(functions.sign)
    sin = staticmethod(functions.sin)
    cos = staticmethod(functions.cos)
    tanh = staticmethod(functions.tanh)


def backward(tensor, grad=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``retain_graph`` defaults to ``create_graph``, as in PyTorch: a graph that will be
    differentiated again must be kept.
    """
    cotangent = _first_cotangent("backward", tensor, grad)
    retain = (create_graph if retain_graph is None else retain_graph) or mode().keep_graphs
    with GradMode(create_graph):
        finished = _walk(tensor, cotangent, retain, None)
        handed_out = {id(cotangent.data), id(cotangent)}
        with _delivery:
            for t, g in finished:
                g = _owned(g, t.data.dtype, handed_out)
                t.grad = g if t.grad is None else t.grad + g
                grad_set(t)


def grad(output, inputs, grad_output=None, retain_graph=None, create_graph=False):
    """The gradients of ``output`` with respect to each of ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``.grad`` attributes are left alone, and a tuple comes back
    (``inputs`` may be one Tensor or a sequence). An input that ``output`` does not depend on
    gets zeros. With ``create_graph=True`` the results can be differentiated.
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    cotangent = _first_cotangent("grad", output, grad_output)
    retain = (create_graph if retain_graph is None else retain_graph) or mode().keep_graphs
    switched = switch_grad(bool(create_graph))  # NOTE: not GradMode: half the cost
    try:
        finished = _walk(output, cotangent, retain, {id(x) for x in inputs})
        handed_out = {id(cotangent.data), id(cotangent)}
        found = {id(t): _owned(g, t.data.dtype, handed_out) for t, g in finished}
    finally:
        restore(switched)
    return tuple(
        found[id(x)] if id(x) in found else Tensor(np.zeros(x.shape, x.dtype)) for x in inputs
    )


provide(backward)


def _first_cotangent(op: str, root, grad) -> Tensor:
    if not root.requires_grad:
        raise BackwardError(
            f"{op}: the tensor (shape {root.shape}) does not require grad: no input it depends "
            f"on has requires_grad=True (create inputs with mg.tensor(..., requires_grad=True), "
            f"and do not compute it under mg.no_grad())"
        )
    if grad is None:
        if root.data.size != 1:
            raise BackwardError(
                f"{op}: the tensor has shape {root.shape}, not a scalar, so pass grad= of that "
                f"shape (e.g. y.backward(mg.ones_like(y))) or reduce first (y.sum().backward())"
            )
        data = root.data
        return constant(np.ones(data.shape, data.dtype))  # ones_like costs twice as much
    if not isinstance(grad, Tensor):
        try:
            grad = Tensor(np.asarray(grad, dtype=root.dtype))
        except (TypeError, ValueError):
            raise BackwardError(
                f"{op}: grad={grad!r:.60} is not a cotangent; pass a Tensor or array of numbers "
                f"of the tensor's shape {root.shape} (e.g. mg.ones_like(y))"
            ) from None
    if grad.shape != root.shape:
        raise BackwardError(
            f"{op}: grad has shape {grad.shape} but the tensor has shape {root.shape}; "
            f"pass a grad of shape {root.shape}"
        )
    return grad


def _walk(root, cotangent: Tensor, retain_graph: bool, wanted) -> list:
    """The engine's walk, with the cotangents in the form this pass needs."""
    now = mode()
    if now.grad_enabled or now.vmap_level or (now.forward_level and now.detect_anomaly):
        # The pass is recorded; or it pushes tangents, which anomaly detection inspects; or it
        # runs under mg.vmap, where cotangents are batched tensors.
        return walk(root, cotangent, TensorPass, retain_graph, wanted)
    if now.forward_level:  # forward-over-reverse: cotangents carry tangents
        first = Dual(cotangent.data, cotangent.tangent)
        finished = walk(root, first, DualPass, retain_graph, wanted)
        return [(t, dual_tensor(g)) for t, g in finished]
    return walk(root, cotangent.data, ArrayPass, retain_graph, wanted)


class TensorPass:
    """A backward pass that is itself recorded (or pushes tangents): cotangents are Tensors."""

    xp = TensorMath
    accumulate = staticmethod(operator.add)  # recorded, so the sum is differentiated too

    @staticmethod
    def user_vjp(prim, g, y, parents, params):
        grads = prim.vjp(g, y, *parents, **params)
        check_user_cotangents(prim, grads, parents)
        return grads

    @staticmethod
    def after_hooks(hooks, g):
        for hook in list(hooks.fns.values()):
            result = hook(g)
            if result is not None:
                g = _hooked_gradient(hook, g, result)
        return g


class DualPass:
    """A backward pass that pushes tangents and is not recorded (forward-over-reverse):
    cotangents are ``Dual`` pairs of arrays. A user's rule or hook receives Tensors carrying
    their tangents, and what it returns becomes a pair again."""

    xp = DualMath
    accumulate = staticmethod(operator.add)

    @staticmethod
    def user_vjp(prim, g, y, parents, params):
        return as_dual(tuple(TensorPass.user_vjp(prim, dual_tensor(g), y, parents, params)))

    @staticmethod
    def after_hooks(hooks, g):
        return as_dual(TensorPass.after_hooks(hooks, dual_tensor(g)))


class ArrayPass:
    """A plain backward pass: cotangents are ndarrays. A user's rule or hook still receives
    Tensors, and what it returns becomes an array again."""

    xp = ArrayMath
    accumulate = staticmethod(accumulate)  # into buffers the walk owns, in place

    @staticmethod
    def user_vjp(prim, g, y, parents, params):
        grads = prim.vjp(constant(g), y, *parents, **params)
        check_user_cotangents(prim, grads, parents)
        return tuple(gp.data if isinstance(gp, Tensor) else gp for gp in grads)

    @staticmethod
    def after_hooks(hooks, g):
        for hook in list(hooks.fns.values()):
            result = hook(constant(g))
            if result is not None:
                g = _hooked_gradient(hook, g, result).data
        return g


def _hooked_gradient(hook, g, result) -> Tensor:
    """What a tensor hook returned, checked: a gradient of the same shape."""
    result = result if isinstance(result, Tensor) else Tensor(result)
    if result.shape != g.shape:
        name = getattr(hook, "__qualname__", type(hook).__name__)
        raise BackwardError(
            f"register_hook: the hook {name} returned a gradient of shape {result.shape} for a "
            f"tensor of shape {g.shape}; return None or a gradient of the same shape"
        )
    return result


# NOTE: one lock for every delivery into .grad, as PyTorch locks a leaf's accumulation: backward
# on two threads into one shared parameter lost about 5% of the additions without it.
_delivery = threading.Lock()


def _in_dtype(g, dtype: np.dtype):
    """``g`` in its tensor's dtype, as PyTorch: a float32 parameter used with float64 data gets
    a float32 gradient, and a real one the real part of a complex cotangent."""
    if g.dtype == dtype:
        return g
    if isinstance(g, Tensor):
        return g.astype(dtype)  # recorded, so that create_graph differentiates through it
    if g.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
    return np.asarray(g, dtype=dtype)


def _owned(g, dtype: np.dtype, handed_out: set) -> Tensor:
    """``g`` as a Tensor of ``dtype`` (its tensor's, see ``_in_dtype``), copied if it is not
    safe to hand out: a gradient is the user's to change in place (clipping does), so it must be
    a writable array of its own, not a read-only broadcast view, the caller's ``grad=``, or a
    cotangent already handed to another tensor (``Add`` passes one cotangent to both inputs).
    ``g`` is an array in a plain backward, else a Tensor."""
    if g.dtype != dtype:
        g = _in_dtype(g, dtype)
    if isinstance(g, np.ndarray):  # the common case first (a subclass: mg.compile recording)
        if id(g) in handed_out or not _own_writable(g):
            g = np.array(g)
        handed_out.add(id(g))
        return constant(g)
    if not isinstance(g, Tensor):
        g = np.array(g)  # a numpy scalar (or an ndarray subclass): an array of its own
        handed_out.add(id(g))
        return constant(g)
    # NOTE: a batched gradient (mg.vmap) is handed out as it is: its stand-in holds no values,
    # and a batched tensor cannot be changed in place.
    batched = type(g.data) is BatchedArray
    if not (g.requires_grad or batched) and (id(g) in handed_out or not _own_writable(g.data)):
        copy = constant(np.array(g.data))
        copy.tangent = g.tangent  # forward-over-reverse: the tangent of the gradient is H v
        g = copy
    handed_out.add(id(g))
    return g


def _own_writable(data) -> bool:
    flags = data.flags  # a new object on each access
    if type(data) is not np.ndarray:
        # A recording view of an array (mg.compile) stands for that array: the same memory
        # and layout as an array that owns it.
        base = data.base
        if type(base) is not np.ndarray or base.base is not None:
            return False
        same = (data.shape, data.strides, data.dtype) == (base.shape, base.strides, base.dtype)
        return same and flags.writeable and base.flags.owndata
    return flags.writeable and flags.owndata


# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.autograd")
