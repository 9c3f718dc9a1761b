"""``mg.autograd.Function``: PyTorch's way to write an operation with its own backward.

```
class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y

y = Exp.apply(x)
```

A thin layer over ``mg.Primitive``: each Function class gets one primitive (``FunctionNode``)
whose ``vjp`` calls ``backward(ctx, grad)``. ``forward`` runs on the inputs' values with
recording off, as in PyTorch; its result is then recorded as one node whose parents are the
Tensor inputs. A backward written in Tensor ops differentiates again when what it saved are
inputs or the output (not intermediate values of ``forward``, which are not recorded), as in
PyTorch. Reverse mode only, unless the class defines ``jvp(ctx, *tangents)`` (PyTorch's
forward-mode formula, on Tensors, with a leading batch axis of tangents); one output.
"""

from __future__ import annotations

from .autodiff import no_grad
from .errors import BackwardError, OpError
from .primitive import Primitive, apply
from .tensor import Tensor


class FunctionCtx:
    """The ``ctx`` of a Function: ``save_for_backward(*tensors)``, ``saved_tensors``,
    ``needs_input_grad`` (one bool per input), and any attribute you set in ``forward``."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.output = None  # the forward result, for the node's own forward rule

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (or None) for ``backward`` (``ctx.saved_tensors``)."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise OpError(
                    f"save_for_backward takes Tensors (or None), got a {type(t).__name__}; keep "
                    f"other values as attributes of ctx (ctx.scale = scale)"
                )
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Accepted for PyTorch's scripts; minigrad's integer results carry no gradient anyway."""

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted: a gradient that does not reach the output is zeros here, as by default."""


class Function:
    """Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    (returning one gradient, or None, per input of ``forward``); call ``MyFunction.apply``."""

    _node: type | None = None  # the primitive that records this Function, made on first use

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function defines forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise BackwardError("this Function defines no backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and record it, so that backward calls ``backward``."""
        if kwargs:
            raise OpError(
                f"{cls.__name__}.apply takes its arguments positionally, as PyTorch's "
                f"Function.apply; got keywords {sorted(kwargs)}"
            )
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            out = cls.forward(ctx, *args)
        if isinstance(out, tuple | list):
            raise OpError(
                f"{cls.__name__}.forward returned {len(out)} values; minigrad's Function "
                f"records one output (return one Tensor, or write one Function per output)"
            )
        if not isinstance(out, Tensor):
            raise OpError(
                f"{cls.__name__}.forward returned a {type(out).__name__}; return a Tensor"
            )
        ctx.output = out.data
        inputs = [args[i] for i in tensors]
        result = apply(cls._recorder(), *inputs, ctx=ctx, function=cls, positions=tuple(tensors),
                       nargs=len(args))  # fmt: skip
        # NOTE: as PyTorch, a saved output is the recorded one, so that a backward written in
        # Tensor ops can be differentiated again (saved inputs are connected already).
        ctx.saved_tensors = tuple(result if t is out else t for t in ctx.saved_tensors)
        return result

    @classmethod
    def _recorder(cls) -> type:
        if "_node" not in cls.__dict__ or cls._node is None:
            cls._node = type(f"{cls.__name__}Node", (FunctionNode,), {"__module__": cls.__module__})
        return cls._node


class FunctionNode(Primitive):
    """The primitive that records one Function: its forward gives back the result that
    ``Function.forward`` computed; its rules call the Function's ``backward`` and ``jvp``."""

    uses = ()  # what backward reads is in ctx, saved by the Function itself

    @staticmethod
    def forward(*xs, ctx, function, positions, nargs):
        return ctx.output

    @staticmethod
    def vjp(g, y, *xs, ctx, function, positions, nargs):
        grads = function.backward(ctx, g)
        grads = grads if isinstance(grads, tuple | list) else (grads,)
        if len(grads) != nargs:
            raise BackwardError(
                f"{function.__name__}.backward returned {len(grads)} gradients for "
                f"{nargs} inputs of forward; return one per input (None for a non-Tensor)"
            )
        return tuple(grads[i] for i in positions)

    @staticmethod
    def jvp(ts, y, *xs, ctx, function, positions, nargs):
        if "jvp" not in vars(function):
            raise BackwardError(
                f"{function.__name__} defines no jvp(ctx, *tangents), so forward mode cannot "
                f"pass through it; define it (PyTorch's forward-mode formula) or use reverse mode"
            )
        tangents = [None] * nargs
        for i, t in zip(positions, ts):
            tangents[i] = None if t is None else Tensor(t)
        return function.jvp(ctx, *tangents).data
