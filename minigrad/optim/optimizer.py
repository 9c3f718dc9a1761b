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

from ..autodiff import enable_grad, grad_set, mode, no_grad
from ..tensor import Tensor
from .checks import (
    Limits,
    OptimizerError,
    check,
    check_closure,
    check_gradient,
    is_flag,
    is_real,
)
from .state_checks import check_required, checked_state_dict


def _plain(value) -> bool:
    """Whether a hyperparameter is of a kind the optimizers take: a number (numpy's too), a
    bool, a string option, None, or a tuple of numbers (Adam's betas)."""
    if isinstance(value, tuple | list):
        return all(isinstance(v, numbers.Real) for v in value)
    return value is None or isinstance(value, numbers.Real | str)


def coupled_gradient(p, grad: np.ndarray, group: dict) -> np.ndarray:
    """``g = ±grad + weight_decay * p``: the direction PyTorch's coupled-decay rules use.

    Returns a new array when it changes anything, never writes into ``grad`` (it is ``p.grad``).
    """
    g = -grad if group["maximize"] else grad
    if group["weight_decay"]:
        g = g + group["weight_decay"] * p.data
    return g


def _as_tensors(value):
    """A copy of ``value`` (a parameter's state) with every array in it as a Tensor."""
    if isinstance(value, np.ndarray):
        return Tensor(value.copy())
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_as_tensors(v) for v in value)
    return copy.deepcopy(value)


class Optimizer:
    """Base class: holds ``param_groups`` (dicts of hyperparameters with a ``params`` list) and
    ``state`` (per parameter, created on its first update).

    A subclass declares what it accepts and keeps, and every path (constructor,
    ``add_param_group``, ``load_state_dict``) checks against the same declarations:
    ``limits`` (the range of each numeric hyperparameter), ``validate`` (anything else),
    ``state_slots``/``required_state`` (what a parameter's state holds; ``None``: undeclared,
    then loaded arrays need only the parameter's shape) and ``global_state`` (all state on the
    first parameter, as in the flat optimizers).
    """

    #: PyTorch's word for each numeric hyperparameter and its range. The scheduler keys are here
    #: because the schedulers keep them in the groups (and so in the optimizer's state dict).
    limits: dict[str, Limits] = {
        "lr": Limits("learning rate"),
        "weight_decay": Limits("weight_decay value"),
        "eps": Limits("epsilon value"),
        "momentum": Limits("momentum value"),
        "initial_lr": Limits(),
        "max_lr": Limits(),
        "min_lr": Limits(),
        "max_momentum": Limits(),
        "base_momentum": Limits(),
    }
    #: a tuple hyperparameter's shape in words, for its error message (Adam: betas)
    tuple_kinds: dict[str, str] = {}
    state_slots: dict | None = None
    required_state: tuple[str, ...] = ()
    global_state: bool = False

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
        self.check_group(full)
        self.param_groups.append(full)

    def check_group(self, group: dict) -> None:
        """Check a complete group's hyperparameters: each of its default's kind, then
        ``validate``. Used by ``add_param_group`` and ``load_state_dict`` alike."""
        self._check_kinds(group)
        try:
            self.validate(group)
        except TypeError:  # a subclass's comparison with a string, a Tensor, ...
            odd = [f"{k}={v!r}" for k, v in group.items() if k != "params" and not _plain(v)]
            raise OptimizerError(
                f"{type(self).__name__}: hyperparameters must be numbers (or the documented "
                f"options); got {', '.join(odd) or 'a value of the wrong type'}"
            ) from None

    def _check_kinds(self, group: dict) -> None:
        """A hyperparameter whose default is a number must be a number (numpy's count), one
        whose default is a bool a bool, and one whose default is a tuple of numbers a tuple of as
        many numbers: named, before ``validate`` compares it with anything."""
        signature = inspect.signature(type(self).__init__).parameters
        for key, value in group.items():
            default = signature[key].default if key in signature else None
            if default is None:
                continue
            if isinstance(default, bool):
                ok, kind = is_flag(value), "True or False"
            elif isinstance(default, numbers.Real):
                ok, kind = is_real(value), "a number"
            elif isinstance(default, tuple):
                kind = self.tuple_kinds.get(key, f"a tuple of {len(default)} numbers")
                ok = isinstance(value, tuple | list) and len(value) == len(default)
                ok = ok and all(is_real(v) for v in value)
            else:
                continue
            check(ok, f"{type(self).__name__}: {key} must be {kind}, got {value!r:.80}")

    def validate(self, group: dict) -> None:
        """Check a group's hyperparameters (subclasses extend this): each one in ``limits``."""
        for key, limits in self.limits.items():
            if key in group:
                limits.check(type(self).__name__, key, group[key])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (``None``, or zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else Tensor(np.zeros_like(p.data))
                grad_set(p)

    def step(self, closure=None):
        """One update of every parameter with a gradient. ``closure`` (optional) recomputes the
        loss and its gradients and returns the loss; ``step`` returns it."""
        loss = None
        if closure is not None:
            check_closure(f"{type(self).__name__}.step", closure)
            with enable_grad():
                loss = closure()
        recording = mode().recording  # mg.compile: numbers and state read again on replay
        if recording is not None:
            recording.optimizer(self)
        with no_grad():
            self.check_gradients()  # all of them before any update: a refused step changes nothing
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state.setdefault(p, {})
                        if recording is None:
                            self.update(p, p.grad.data, state, group)
                        else:
                            recording.update(self.update, p, state, group)
        return loss

    def check_gradients(self) -> None:
        """Refuse a ``.grad`` that is not a Tensor of its parameter's shape and dtype kind (numpy
        would broadcast it: a ``(4,)`` gradient would move every row of a ``(3, 4)`` weight)."""
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                grad = p.grad
                # NOTE: the common case here, without a call per parameter (every step)
                if grad is None or (
                    type(grad) is Tensor
                    and grad.data.shape == p.data.shape
                    and grad.data.dtype.kind == p.data.dtype.kind
                ):
                    continue
                check_gradient(f"{type(self).__name__}.step", p, i, g)

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
        PyTorch's; the state's arrays come as Tensors (``exp_avg``, ...), as PyTorch's, and are
        copies: they keep the state of this moment. Saves with ``mg.save``."""
        index = self._indexed()
        state = {index[id(p)]: _as_tensors(s) for p, s in self.state.items() if id(p) in index}
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and per-parameter state from a ``state_dict()`` of this
        optimizer's class (also after ``mg.save``/``mg.load``: arrays or Tensors, ints or
        floats). All of it is checked first: the groups' sizes and indices, each
        hyperparameter's kind and range, each state entry's keys (none this optimizer does not
        use), shapes (the parameter's) and dtypes. On any problem an ``OptimizerError`` says
        which, and nothing changes; the optimizer keeps copies, never the dict's arrays."""
        self.param_groups, self.state = checked_state_dict(self, state_dict)

    def state_layout(self, p: Tensor) -> tuple[tuple, np.dtype]:
        """The shape and dtype of ``p``'s state arrays (the flat optimizers: the flat vector's)."""
        return p.shape, p.dtype

    def check_state(self, entry: dict, group: dict, where: str) -> None:
        """Check a loaded state entry as a whole, after each key (subclasses extend this)."""
        check_required(self, entry, where)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
