"""Where a replay reads what comes from outside the function, and where it writes its effects.

A recording reads arrays and numbers that live outside the function: a tensor's data, its
``.grad``, an optimizer's state and hyperparameters, an array in a closure. A replay reads each
again from the same place when it starts (``read_*``), so an update made between calls (by the
previous replay, a scheduler, the user) is seen; an array must keep the form (shape, dtype,
strides) it had when recorded, or the replay stops (``GuardFailed``) and the function is
recorded again. What the function changes outside its arrays (a ``.grad`` set, an optimizer's
state entry) is written back at the end of a replay (``set_*``).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, constant


class GuardFailed(Exception):
    """Something a recording depends on changed: record again."""


def same_form(array, recorded: np.ndarray) -> bool:
    return type(array) is np.ndarray and (array.shape, array.dtype, array.strides) == (
        recorded.shape, recorded.dtype, recorded.strides
    )  # fmt: skip


def read_data(tensor: Tensor, recorded: np.ndarray, requires_grad: bool) -> np.ndarray:
    """The tensor's array now (a parameter given a new array of the same form is seen)."""
    data = tensor.data
    if (data is recorded or same_form(data, recorded)) and tensor.requires_grad is requires_grad:
        return data
    raise GuardFailed


def read_grad(tensor: Tensor, recorded: np.ndarray) -> np.ndarray:
    grad = tensor.grad
    if grad is not None and (grad.data is recorded or same_form(grad.data, recorded)):
        return grad.data
    raise GuardFailed


def read_item(state: dict, key, recorded: np.ndarray) -> np.ndarray:
    """``state[key]`` now (an optimizer's state array), of the recorded form. (Numbers are read
    with ``operator.getitem``: any value goes.)"""
    value = state.get(key)
    if value is recorded or same_form(value, recorded):
        return value
    raise GuardFailed


def check_truth(value, expected: bool) -> None:
    """A guard: the truth value the recording read must be read again."""
    if bool(value) != expected:
        raise GuardFailed


def check_no_grad(tensor: Tensor) -> None:
    """A guard: the tensor has no ``.grad`` here, as in the recording (so backward sets one
    rather than adding to it)."""
    if tensor.grad is not None:
        raise GuardFailed


def check_keys(container: dict, keys: tuple) -> None:
    """A guard: a dict (an optimizer's state of one parameter) has the recorded entries."""
    if tuple(container) != keys:
        raise GuardFailed


def draw(generator, method: str, *args, **kwargs):
    """A random draw from ``generator`` (an ``mg.Generator``), as the recording made it: from
    the generator's stream as it is now (a reseeded generator is seen)."""
    return getattr(generator.rng, method)(*args, **kwargs)


def set_grad(tensor: Tensor, grad) -> None:
    tensor.grad = None if grad is None else constant(grad)


def set_item(container: dict, key, value) -> None:
    container[key] = value
