"""``Module`` and ``Parameter``: a plain class whose attributes are its parameters and children.

``named_parameters()`` walks the attributes in insertion order, through Parameters, Modules,
lists, tuples and dicts, giving PyTorch's dotted names (``layers.0.weight``); an attribute
whose name starts with ``_`` counts when it holds a Parameter or a Module (the rest of those
are bookkeeping). Buffers (state that is saved but not trained, like BatchNorm's running mean)
are Tensors registered with ``register_buffer``. As in PyTorch, a Parameter attribute can be
replaced by another Parameter or None, not by a plain Tensor, which the walk would miss.

One walk, ``Module._walk``, goes through the tree; every method that visits it (parameters,
buffers, modules, ``state_dict``, ``apply``, ``train``) reads that walk. The containers
``Sequential`` and ``ModuleList`` (``containers.py``) only name their members differently.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Mapping

import numpy as np

from .. import dtypes
from ..autodiff import grad_set, in_scope, no_grad
from ..errors import DTypeError, ShapeError
from ..functions.conversion import cast_in_place, parse_to
from ..tensor import Tensor
from .module_hooks import ModuleHooks, call_with_hooks, register


class Parameter(Tensor):
    """A Tensor that a Module trains: it requires grad, and ``named_parameters`` finds it."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# What load_state_dict returns, as PyTorch's: the keys it did not find in the state dict, and
# the keys of the state dict it did not use (both empty after a strict load).
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(ShapeError, KeyError):
    """A state dict that does not fit the module: missing or unexpected keys, wrong shapes."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _contents(value, prefix: str):
    """(dotted name, value) for every Parameter, Module and Tensor inside ``value``'s
    containers (lists, tuples, dicts), in order."""
    if isinstance(value, (Module, Tensor)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _contents(item, f"{prefix}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _contents(item, f"{prefix}.{key}")


class Module:
    """Base class of layers and models: subclass it, assign parameters and sub-modules as
    attributes in ``__init__``, and write ``forward``. Calling the module calls ``forward``."""

    def __init__(self):
        self.training = True
        self._buffers: list[str] = []

    def __setattr__(self, name: str, value) -> None:
        # NOTE: as PyTorch, a parameter is replaced by a Parameter (or None), not by a plain
        # Tensor, which named_parameters() would then miss: the optimizer and state_dict too.
        if isinstance(self.__dict__.get(name), Parameter) and not (
            value is None or isinstance(value, Parameter)
        ):
            raise DTypeError(
                f"{type(self).__name__}.{name} is a Parameter; assigning a "
                f"{type(value).__name__} would silently stop training it. Assign "
                f"nn.Parameter(value), or change the values in place under mg.no_grad() "
                f"({name}.data[...] = ... or {name}.copy_(...))"
            )
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        """The computation; every module defines it. Call the module (``model(x)``), not
        ``forward``, so that drawings can group its operations."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    _module_hooks: ModuleHooks | None = None  # made by the first register_*hook

    def __call__(self, *args, **kwargs):
        """Run ``forward`` (with the module's hooks, if it has any); the nodes it makes remember
        this module (for ``mg.viz``)."""
        hooks = self._module_hooks
        if hooks is None:
            return in_scope(self, self.forward, *args, **kwargs)  # drawings group by module
        return call_with_hooks(self, hooks, self._scoped_forward, args, kwargs)

    def _scoped_forward(self, *args, **kwargs):
        return in_scope(self, self.forward, *args, **kwargs)

    # ----- hooks ---------------------------------------------------------------------------------

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` before each ``forward``; a returned value (a tuple, or one
        input) replaces the positional inputs. With ``with_kwargs=True``:
        ``hook(module, args, kwargs)`` returning ``(args, kwargs)`` or None. Returns a handle
        whose ``remove()`` takes the hook out (PyTorch's semantics)."""
        hooks = self._hooks_made()
        handle = register(hooks.forward_pre, hook, "register_forward_pre_hook", prepend)
        if with_kwargs:
            hooks.with_kwargs.add(handle.id)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args, output)`` after each ``forward``; a returned value replaces the
        output (``hook(module, args, kwargs, output)`` with ``with_kwargs=True``). Returns a
        removable handle."""
        hooks = self._hooks_made()
        handle = register(hooks.forward, hook, "register_forward_hook", prepend)
        if with_kwargs:
            hooks.with_kwargs.add(handle.id)
        return handle

    def register_full_backward_hook(self, hook, *, prepend=False):
        """``hook(module, grad_input, grad_output)`` when backward has computed the gradients of
        this module's inputs (tuples aligned with its positional inputs and outputs; None where
        none flows); a returned tuple replaces ``grad_input`` (for a module with one input that
        requires grad). Returns a removable handle. See ``nn/module_hooks.py``."""
        return register(self._hooks_made().backward, hook, "register_full_backward_hook", prepend)

    def _hooks_made(self) -> ModuleHooks:
        if self._module_hooks is None:
            self._module_hooks = ModuleHooks()
        return self._module_hooks

    # ----- walking the tree ----------------------------------------------------------------------

    def _members(self) -> list:
        """(name, value, is_buffer) of each Parameter, Module or buffer directly in this
        module, in attribute order (containers name theirs ``0``, ``1``, ... instead)."""
        found = []
        buffers = self._buffers
        for attr, value in vars(self).items():
            if isinstance(value, _MEMBERS):  # the common case, without _contents
                found.append((attr, value, bool(buffers) and attr in buffers))
            elif type(value) in _PLAIN or attr[0] == "_" or attr == "training":
                continue  # sizes, flags, names: and minigrad's own bookkeeping
            elif isinstance(value, _HOLDERS):
                for name, member in _contents(value, attr):
                    if isinstance(member, _MEMBERS) or attr in buffers:
                        found.append((name, member, attr in buffers))
        return found

    def _walk(self, prefix: str | None = "", remove_duplicate: bool = True,
              recurse: bool = True) -> Iterator[tuple[str, object, bool]]:  # fmt: skip
        """(dotted path, value, is_buffer) of this module (path ``prefix``), its own parameters
        and buffers in attribute order, then each child's tree, depth first: the one walk that
        every method below uses. With ``remove_duplicate`` a module or tensor that is shared
        comes once (under its first path), and a shared module's tree is walked once. With
        ``prefix=None`` the paths are not made (every path is None): for ``parameters()``."""
        # NOTE: iterative and one pass: this runs every training step (zero_grad, the
        # optimizer's loop over parameters()).
        seen = set()  # id of a module; id of a tensor (negated for a buffer), listed once
        stack = [(prefix, self)]
        named = prefix is not None
        while stack:
            path, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield path, module, False
            children = []
            for name, member, is_buffer in module._members():
                member_path = (f"{path}.{name}" if path else name) if named else None
                if isinstance(member, Module):
                    if recurse:
                        children.append((member_path, member))
                    continue
                if remove_duplicate:
                    key = ~id(member) if is_buffer else id(member)
                    if key in seen:
                        continue
                    seen.add(key)
                yield member_path, member, is_buffer
            if children:
                stack.extend(reversed(children))

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of each module directly inside this one, once each."""
        seen = set()
        for name, member, _ in self._members():
            if isinstance(member, Module) and id(member) not in seen:
                seen.add(id(member))
                yield name, member

    def children(self) -> Iterator[Module]:
        """Each module directly inside this one."""
        return (child for _, child in self.named_children())

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True):
        """This module and every module inside it, depth first; a shared module comes once
        unless ``remove_duplicate=False``."""
        for path, value, _ in self._walk(prefix, remove_duplicate):
            if isinstance(value, Module):
                yield path, value

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first."""
        return (module for _, module in self.named_modules())

    def named_parameters(self, remove_duplicate: bool = True, *,
                         recurse: bool = True) -> Iterator[tuple[str, Parameter]]:  # fmt: skip
        """(dotted name, parameter) pairs in PyTorch's order: a module's own parameters in
        attribute order, then each child's, depth first (only its own with ``recurse=False``).
        A shared parameter comes once (under its first name) unless ``remove_duplicate=False``."""
        for path, value, is_buffer in self._walk("", remove_duplicate, recurse):
            if not is_buffer and isinstance(value, Parameter):
                yield path, value

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, once each, in ``named_parameters``' order (what optimizers take);
        only the module's own with ``recurse=False``, as PyTorch's."""
        for _, value, is_buffer in self._walk(None, True, recurse):  # no names: a third faster
            if not is_buffer and isinstance(value, Parameter):
                yield value

    def named_buffers(self, remove_duplicate: bool = True, *,
                      recurse: bool = True) -> Iterator[tuple[str, Tensor]]:  # fmt: skip
        """(dotted name, tensor) of the buffers (``register_buffer``), in the parameters' order."""
        for path, value, is_buffer in self._walk("", remove_duplicate, recurse):
            if is_buffer and isinstance(value, Tensor):
                yield path, value

    def buffers(self) -> Iterator[Tensor]:
        """Every buffer, once each, in ``named_buffers``' order."""
        return (b for _, b in self.named_buffers())

    def register_buffer(self, name: str, value: Tensor | None) -> None:
        """Keep ``value`` (a Tensor, or None for "not set yet") as state that is saved and
        loaded but not trained."""
        if value is not None and not isinstance(value, Tensor):
            raise DTypeError(
                f"register_buffer({name!r}): a buffer is a Tensor (or None), got "
                f"{type(value).__name__}; wrap it, mg.tensor(value)"
            )
        if name not in self._buffers:
            self._buffers.append(name)
        setattr(self, name, value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """``self.name = param``, as PyTorch's (for names made at run time)."""
        if param is not None and not isinstance(param, Parameter):
            raise DTypeError(
                f"register_parameter({name!r}): expected an nn.Parameter (or None), got "
                f"{type(param).__name__}; wrap it, nn.Parameter(value)"
            )
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """``self.name = module``, as PyTorch's (for names made at run time)."""
        if module is not None and not isinstance(module, Module):
            raise DTypeError(f"add_module({name!r}): {type(module).__name__} is not a Module")
        setattr(self, name, module)

    def num_parameters(self) -> int:
        """How many numbers the parameters hold."""
        return sum(p.numel() for p in self.parameters())

    # ----- modes and gradients -------------------------------------------------------------------

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every module inside this one and on this one, children first
        (as PyTorch's, so a module shared by two parents is visited under each; the usual way
        to initialise weights: ``model.apply(init_fn)``)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for every module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.data))
            grad_set(p)

    # ----- dtypes and devices --------------------------------------------------------------------

    def to(self, *args, **kwargs) -> Module:
        """Cast the floating-point (and complex) parameters and buffers to a dtype, in place:
        ``model.to(mg.float64)``, ``model.to("cpu")``, ``model.to("cpu", mg.float64)``,
        ``model.to(tensor)`` (its dtype). The Parameter objects stay the same (as PyTorch's),
        so an optimizer made before keeps updating them; integer buffers are left alone.
        Returns the module. ``"cpu"`` is the only device (``"cuda"`` is a DeviceError)."""
        _, dtype, _ = parse_to("Module.to", args, kwargs)
        if dtype is not None and dtype.kind not in "fc":
            raise DTypeError(
                f"Module.to: only floating-point or complex dtypes, got {dtype}; a model's "
                f"parameters are trained by gradients (use mg.float32 or mg.float64)"
            )
        return self if dtype is None else self._cast(dtype, "fc")

    def float(self) -> Module:
        """Cast the floating-point parameters and buffers to float32, in place."""
        return self._cast(dtypes.float32, "f")

    def double(self) -> Module:
        """Cast the floating-point parameters and buffers to float64, in place."""
        return self._cast(dtypes.float64, "f")

    def half(self) -> Module:
        """Cast the floating-point parameters and buffers to float16, in place."""
        return self._cast(dtypes.float16, "f")

    def type(self, dst_type) -> Module:
        """Cast every parameter and buffer (integer buffers too, as PyTorch's) to
        ``dst_type``, a floating-point dtype, in place."""
        dtype = dtypes.resolve("Module.type", dst_type)
        if dtype.kind != "f":
            raise DTypeError(
                f"Module.type: {dtype} would make the parameters untrainable; cast to a "
                f"floating-point dtype (mg.float32, mg.float64)"
            )
        return self._cast(dtype, "biufc")

    def cpu(self) -> Module:
        """The module itself: its tensors are on the CPU already."""
        return self

    def cuda(self, device=None) -> Module:
        """Always a DeviceError: minigrad computes with numpy on the CPU."""
        parse_to("Module.cuda", ("cuda" if device is None else device,), {})
        return self  # not reached

    def _cast(self, dtype, kinds: str) -> Module:
        for t in (*self.parameters(), *self.buffers()):
            if t.dtype.kind in kinds:
                cast_in_place(t, dtype)
        return self

    # ----- state ---------------------------------------------------------------------------------

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:  # fmt: skip
        """Parameters and buffers by dotted name, as PyTorch's: each module's parameters, then
        its buffers, then its children's, depth first (a shared one under each of its names).

        The values are Tensors cut from the tape that share memory with the parameters (they
        change as the model trains: ``copy.deepcopy(model.state_dict())`` keeps a snapshot);
        ``keep_vars=True`` gives the Parameters themselves. ``prefix`` goes before every name;
        ``destination`` is a dict to fill and return instead of a new one."""
        state = {} if destination is None else destination
        for path, value, is_buffer in self._walk("", remove_duplicate=False):
            if isinstance(value, Tensor) and (is_buffer or isinstance(value, Parameter)):
                state[prefix + path] = value if keep_vars else value.detach()
        return state

    def load_state_dict(self, state: dict, strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:  # fmt: skip
        """Copy ``state`` (Tensors or arrays by name, as ``state_dict`` gives) into the
        parameters and buffers, in place, each cast to the dtype it has in the model.

        Everything is checked before anything is copied: with ``strict``, missing and unexpected
        keys are errors; a shape that differs is always an error. On error nothing changes.
        Returns ``(missing_keys, unexpected_keys)``, as PyTorch's (what ``strict=False`` let
        through). ``assign=True`` (PyTorch's way to fill a model built on the meta device) is
        refused: minigrad has no meta device.
        """
        if assign:
            raise DTypeError(
                "load_state_dict: assign=True replaces parameters built on PyTorch's meta "
                "device; minigrad has no meta device, so load with assign=False (the default), "
                "which copies the values into the model's parameters"
            )
        own = dict(self.named_parameters(remove_duplicate=False))
        own.update(self.named_buffers(remove_duplicate=False))
        if not isinstance(state, Mapping):
            raise StateDictError(
                f"load_state_dict: expected a dict of Tensors (or arrays) by name, as "
                f"state_dict() gives, got {type(state).__name__}"
            )
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        arrays = {}
        for key in [k for k in own if k in state]:
            value = state[key]
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.dtype.kind not in "biufc":
                problems.append(f"{key}: dtype {array.dtype} is not numeric")
            elif not np.can_cast(array.dtype, own[key].dtype, casting="same_kind"):
                problems.append(f"{key}: dtype {array.dtype} cannot become {own[key].dtype}")
            elif array.shape != own[key].shape:
                problems.append(
                    f"{key}: shape {array.shape} in the state dict, {own[key].shape} in the model"
                )
            else:
                arrays[key] = array
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(problems) + ". "
                "Nothing was loaded. (strict=False ignores missing and unexpected keys.)"
            )
        with no_grad():
            for key, array in arrays.items():
                own[key].copy_(array.astype(own[key].dtype, casting="same_kind"))
        return IncompatibleKeys(missing, unexpected)

    # ----- printing ------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown in this module's repr line (override in layers)."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("] + [f"  {line}" for line in extra.splitlines()]
        for name, child in children:
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"


# What ``Module._members`` looks for: members, the containers that may hold them, and the plain
# values it skips at once (tuples of types: isinstance on one is cheaper than on a union).
_MEMBERS = (Parameter, Module)
_HOLDERS = (Tensor, list, tuple, dict)
_PLAIN = frozenset({int, float, bool, str, type(None)})
