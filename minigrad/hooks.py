"""Hooks: what runs on a tensor's gradient during backward, and the handle that removes a hook.

``Tensor.register_hook(fn)`` and ``Tensor.retain_grad()`` fill a tensor's ``GradientHooks``;
``Module``'s hooks (forward pre, forward, full backward) use the same ``RemovableHandle``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*hook``: ``handle.remove()`` takes the hook out again (a
    second ``remove()`` does nothing), as PyTorch's ``torch.utils.hooks.RemovableHandle``. Also a
    context manager that removes the hook on exit."""

    __slots__ = ("hooks", "id")

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = next(_ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(hooks: dict, fn: Callable, owner: str) -> RemovableHandle:
    """Put ``fn`` last in ``hooks`` (id -> hook, in the order they run); its handle."""
    if not callable(fn):
        raise TypeError(f"{owner}: a hook must be callable, got {type(fn).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = fn
    return handle


class GradientHooks:
    """What happens to one tensor's gradient during backward, once it is complete: the hooks
    registered with ``register_hook`` run in order (each may return a replacement), then, with
    ``retain_grad()``, it is kept in ``.grad`` of the non-leaf tensor."""

    __slots__ = ("fns", "retain")

    def __init__(self):
        self.fns: dict = {}
        self.retain = False
