"""A Module's hooks, as PyTorch's: forward pre-hooks, forward hooks and full backward hooks.

``Module.__call__`` runs ``call_with_hooks`` only for a module that has some, so a plain module
pays one attribute test. The order is PyTorch's: pre-hooks (may replace the inputs), the
backward hooks' input trackers, ``forward``, forward hooks (may replace the output), the
backward hooks' output trackers.

A full backward hook ``hook(module, grad_input, grad_output)`` sees the gradients of the
module's outputs and of its inputs, as this module alone makes them (an input used elsewhere too
gets only this module's share). Each input that requires grad goes through an identity
(``clone``) whose gradient hook records it, and so does each output; the module's hook runs
once every tracked input's gradient is in (or, with no input that requires grad, once the
outputs' are).
"""

from __future__ import annotations

from ..autodiff import mode
from ..errors import BackwardError
from ..hooks import add_hook
from ..tensor import Tensor


class ModuleHooks:
    """The hooks of one module, each kind in the order they run."""

    __slots__ = ("forward_pre", "forward", "backward", "with_kwargs")

    def __init__(self):
        self.forward_pre: dict = {}
        self.forward: dict = {}
        self.backward: dict = {}
        self.with_kwargs: set = set()  # ids of forward (pre-)hooks that take the kwargs too


def register(hooks: dict, fn, owner: str, prepend: bool = False):
    """Add ``fn`` to ``hooks`` (first with ``prepend``); its handle."""
    handle = add_hook(hooks, fn, owner)
    if prepend:
        hooks_in_order = {handle.id: hooks.pop(handle.id), **hooks}
        hooks.clear()
        hooks.update(hooks_in_order)
    return handle


def call_with_hooks(module, hooks: ModuleHooks, run, args: tuple, kwargs: dict):
    """``run(*args, **kwargs)`` (the module's forward, in its scope) with the module's hooks."""
    for key, hook in list(hooks.forward_pre.items()):
        if key in hooks.with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    tracker = None
    if hooks.backward and mode().grad_enabled:
        tracker = _BackwardTracker(module, hooks.backward)
        args = tracker.inputs(args)
    out = run(*args, **kwargs)
    for key, hook in list(hooks.forward.items()):
        result = (
            hook(module, args, kwargs, out) if key in hooks.with_kwargs else hook(module, args, out)
        )
        if result is not None:
            out = result
    return out if tracker is None else tracker.outputs(out)


class _BackwardTracker:
    """One call's gradients in and out, for the module's full backward hooks."""

    def __init__(self, module, hooks: dict):
        self.module, self.hooks = module, hooks
        self.grad_input: list = []
        self.grad_output: list = []
        self.inputs_waiting = 0  # tracked inputs whose gradient has not arrived
        self.outputs_waiting = 0

    def inputs(self, args: tuple) -> tuple:
        self.grad_input = [None] * len(args)
        tracked = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                a = a.clone()
                a.register_hook(self._input_arrived(i))
                self.inputs_waiting += 1
            tracked.append(a)
        return tuple(tracked)

    def outputs(self, out):
        single = isinstance(out, Tensor)
        outs = [out] if single else list(out) if isinstance(out, tuple | list) else None
        if outs is None:
            return out
        self.grad_output = [None] * len(outs)
        for j, o in enumerate(outs):
            if isinstance(o, Tensor) and o.requires_grad:
                outs[j] = o.clone()
                outs[j].register_hook(self._output_arrived(j))
                self.outputs_waiting += 1
        return outs[0] if single else type(out)(outs)

    def _output_arrived(self, j):
        def hook(g):
            self.grad_output[j] = g
            self.outputs_waiting -= 1
            if self.outputs_waiting == 0 and self.inputs_waiting == 0:
                self._call(None)  # no input requires grad: the outputs' gradients are all

        return hook

    def _input_arrived(self, i):
        def hook(g):
            self.grad_input[i] = g
            self.inputs_waiting -= 1
            if self.inputs_waiting == 0:
                return self._call(i)
            return None

        return hook

    def _call(self, last: int | None):
        """Run the module's hooks; a replacement ``grad_input`` takes effect for the input whose
        gradient arrived last, which is why it needs a module with one input that requires
        grad (the others' gradients have flowed on already)."""
        grad_input, grad_output = tuple(self.grad_input), tuple(self.grad_output)
        for hook in list(self.hooks.values()):
            result = hook(self.module, grad_input, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, tuple | list) else (result,)
            tracked = [i for i, g in enumerate(grad_input) if g is not None]
            if last is None or len(tracked) != 1 or len(result) != len(grad_input):
                raise BackwardError(
                    f"register_full_backward_hook: a hook of {type(self.module).__name__} "
                    f"returned a new grad_input, which minigrad can apply only for a module "
                    f"with one input that requires grad (this call had {len(tracked)}) and a "
                    f"tuple of {len(grad_input)} gradients; return None, or change the gradient "
                    f"with Tensor.register_hook on that input"
                )
            grad_input = result
        return None if last is None else grad_input[last]
