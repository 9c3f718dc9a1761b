"""``Optimizer``: parameter groups, lazily created per-parameter state, and state dicts.

A subclass validates its hyperparameters in ``__init__`` and implements ``update(p, grad,
state, group)``: one parameter's update rule in numpy, applied in place (``p.add_``), so the
in-place clock catches any graph that still needs the old value. ``step`` runs it under
``no_grad`` for every parameter that has a gradient.
"""

from __future__ import annotations

import copy
import inspect
import numbers

import numpy as np

from ..autodiff import enable_grad, no_grad
from ..errors import MinigradError
from ..tensor import Tensor


class OptimizerError(MinigradError, ValueError):
    """A bad hyperparameter or parameter list, or a state dict that does not fit."""


def _plain(value) -> bool:
    """Whether a hyperparameter is of a kind the optimizers take: a number (numpy's too), a
    bool, a string option, None, or a tuple of numbers (Adam's betas)."""
    if isinstance(value, tuple | list):
        return all(isinstance(v, numbers.Real) for v in value)
    return value is None or isinstance(value, numbers.Real | str)


def check(condition: bool, message: str) -> None:
    """Refuse a hyperparameter early, with a message that says what is allowed."""
    if not condition:
        raise OptimizerError(message)


def coupled_gradient(p, grad: np.ndarray, group: dict) -> np.ndarray:
    """``g = ±grad + weight_decay * p``: the direction PyTorch's coupled-decay rules use.

    Returns a new array when it changes anything, never writes into ``grad`` (it is ``p.grad``).
    """
    g = -grad if group["maximize"] else grad
    if group["weight_decay"]:
        g = g + group["weight_decay"] * p.data
    return g


class Optimizer:
    """Base class: holds ``param_groups`` (dicts of hyperparameters with a ``params`` list) and
    ``state`` (per parameter, created on its first update)."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        check(
            not isinstance(params, Tensor),
            f"{type(self).__name__}: params must be an iterable of Tensors (or of parameter-group "
            f"dicts), got one Tensor of shape {getattr(params, 'shape', None)}; pass [w] or "
            f"model.parameters()",
        )
        params = list(params)
        check(len(params) > 0, f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add parameters with their own hyperparameters (missing ones take the defaults)."""
        check(
            isinstance(group, dict) and "params" in group,
            f"{type(self).__name__}: a parameter group is a dict with a 'params' entry",
        )
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            check(
                isinstance(p, Tensor),
                f"{type(self).__name__}: can only optimise Tensors, got {type(p).__name__}",
            )
            # NOTE: a frozen parameter (requires_grad=False) is accepted and, having no gradient,
            # left alone, as in PyTorch; a non-leaf would never receive a .grad at all.
            check(
                p.is_leaf,
                f"{type(self).__name__}: can't optimise a non-leaf tensor (shape {p.shape}, made "
                f"by {p.grad_fn}): its .grad is never filled; optimise the leaf it was computed "
                f"from, or use x.detach().requires_grad_() as a new leaf",
            )
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        check(
            not existing & {id(p) for p in params},
            f"{type(self).__name__}: a parameter appears in more than one group",
        )
        full = {**self.defaults, **group, "params": params}
        self._check_kinds(full)
        try:
            self.validate(full)
        except TypeError:  # a comparison with a string, a Tensor, ...
            odd = [f"{k}={v!r}" for k, v in full.items() if k != "params" and not _plain(v)]
            raise OptimizerError(
                f"{type(self).__name__}: hyperparameters must be numbers (or the documented "
                f"options); got {', '.join(odd) or 'a value of the wrong type'}"
            ) from None
        self.param_groups.append(full)

    def _check_kinds(self, group: dict) -> None:
        """A hyperparameter whose default is a number must be a number (numpy's count), and
        one whose default is a tuple of numbers a tuple of numbers: named, before ``validate``
        compares it with anything."""
        signature = inspect.signature(type(self).__init__).parameters
        for key, value in group.items():
            default = signature[key].default if key in signature else None
            if isinstance(default, bool) or default is None:
                continue
            if isinstance(default, numbers.Real):
                ok, kind = isinstance(value, numbers.Real), "a number"
            elif isinstance(default, tuple):
                ok, kind = _plain(value) and isinstance(value, tuple | list), "a tuple of numbers"
            else:
                continue
            check(ok, f"{type(self).__name__}: {key} must be {kind}, got {value!r}")

    def validate(self, group: dict) -> None:
        """Check a group's hyperparameters (subclasses extend this)."""
        if "lr" in group:
            lr = group["lr"]
            check(isinstance(lr, numbers.Real) and lr >= 0, f"Invalid learning rate: {lr!r}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (``None``, or zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else Tensor(np.zeros_like(p.data))

    def step(self, closure=None):
        """One update of every parameter with a gradient. ``closure`` (optional) recomputes the
        loss and its gradients and returns the loss; ``step`` returns it."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state.setdefault(p, {})
                        self.update(p, p.grad.data, state, group)
        return loss

    def update(self, p: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        """Change ``p.data`` in place from its gradient ``grad`` (an ndarray), its ``state``
        (a dict kept between steps) and its ``group``'s hyperparameters: each optimizer's rule."""
        raise NotImplementedError

    # ----- state dicts ---------------------------------------------------------------------------

    def _indexed(self):
        """Each parameter's index across the groups (a state dict refers to them by index)."""
        return {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``, as
        PyTorch's; arrays are copies. Saves with ``mg.save``."""
        index = self._indexed()
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if id(p) in index}
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and per-parameter state. Checked first: the groups must have
        the same sizes, and saved arrays the parameters' shapes; on error nothing changes."""
        name = type(self).__name__
        check(
            isinstance(state_dict, dict) and {"state", "param_groups"} <= set(state_dict),
            f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'",
        )
        groups = state_dict["param_groups"]
        check(
            len(groups) == len(self.param_groups),
            f"{name}.load_state_dict: {len(groups)} parameter groups saved, "
            f"{len(self.param_groups)} here",
        )
        for saved, group in zip(groups, self.param_groups):
            check(
                len(saved["params"]) == len(group["params"]),
                f"{name}.load_state_dict: a group of {len(saved['params'])} parameters saved "
                f"for one of {len(group['params'])}",
            )
        params = [p for g in self.param_groups for p in g["params"]]
        index_of = {i: params[k] for k, i in enumerate(i for g in groups for i in g["params"])}
        new_state = {}
        for i, s in state_dict["state"].items():
            p = index_of.get(int(i))
            check(p is not None, f"{name}.load_state_dict: state for unknown parameter {i}")
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape not in (p.shape, ()):
                    raise OptimizerError(
                        f"{name}.load_state_dict: state '{key}' of parameter {i} has shape "
                        f"{value.shape}, the parameter {p.shape}"
                    )
            new_state[p] = copy.deepcopy(s)
        new_groups = []
        for saved, group in zip(groups, self.param_groups):
            full = {**group, **{k: v for k, v in saved.items() if k != "params"}}
            full["params"] = group["params"]
            self.validate(full)
            new_groups.append(full)
        self.param_groups, self.state = new_groups, new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
