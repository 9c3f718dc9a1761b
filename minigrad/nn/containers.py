"""Containers: ``Sequential`` (modules applied in turn), ``ModuleList`` and ``ModuleDict``
(modules kept in a list or by name), ``ParameterList`` and ``ParameterDict``, with PyTorch's
names for what they hold (``0.weight``, ``fc.weight`` for an OrderedDict, ``blocks.a.weight``,
``params.0``)."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Mapping

from ..errors import DTypeError, OpError
from ..tensor import Tensor
from .module import Module, Parameter


class Sequential(Module):
    """Modules applied one after the other; ``model[0]``, ``len(model)``, iteration. Either
    ``Sequential(a, b, ...)`` (named 0, 1, ...) or ``Sequential(OrderedDict(fc=a, act=b))``
    (named by the keys, which are also attributes: ``model.fc``)."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            self._names = [str(name) for name in modules[0]]
            modules = tuple(modules[0].values())
        else:
            self._names = [str(i) for i in range(len(modules))]
        for module in modules:
            if not isinstance(module, Module):
                raise DTypeError(
                    f"Sequential: {type(module).__name__} is not a Module; pass modules "
                    f"(or one OrderedDict of them), e.g. Sequential(nn.Linear(2, 3), nn.ReLU())"
                )
        self.layers = list(modules)

    def __getattr__(self, name: str):  # only called when normal lookup fails: ``model.fc``
        names = self.__dict__.get("_names", [])
        if name in names:
            return self.layers[names.index(name)]
        raise AttributeError(f"{type(self).__name__} has no attribute or layer {name!r}")

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(OrderedDict(zip(self._names[i], self.layers[i])))
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def append(self, module: Module) -> Sequential:
        """Add a layer at the end."""
        self._names.append(str(len(self.layers)))
        self.layers.append(module)
        return self

    def _members(self) -> list:
        # NOTE: named like PyTorch's (``0.weight``, or by the OrderedDict's keys), not
        # ``layers.0.weight``.
        return [(name, layer, False) for name, layer in zip(self._names, self.layers)]


class ModuleList(Module):
    """A list of modules whose parameters the parent finds (``blocks.0.weight``)."""

    def __init__(self, modules=()):
        super().__init__()
        self.items = list(modules)

    def __getitem__(self, i):
        return ModuleList(self.items[i]) if isinstance(i, slice) else self.items[i]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end."""
        self.items.append(module)
        return self

    def extend(self, modules) -> ModuleList:
        """Add several modules at the end."""
        self.items.extend(modules)
        return self

    def _members(self) -> list:
        return [(str(i), item, False) for i, item in enumerate(self.items)]


# ----- containers by name, and containers of parameters -------------------------------------------


class ContainerKeyError(OpError, KeyError):
    """A name a container cannot hold: not a string, empty, or with a ``.`` (which would make
    state dict keys ambiguous)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _checked_key(who: str, key) -> str:
    if not isinstance(key, str):
        raise DTypeError(f"{who}: keys are names (str), got {type(key).__name__} {key!r}")
    if not key or "." in key:
        raise ContainerKeyError(
            f"{who}: the name {key!r} cannot be a key: it must be a non-empty string without "
            f"'.' (the dot separates the parts of a state dict key)"
        )
    return key


def _pairs(who: str, values) -> list:
    """``values`` (a mapping, or an iterable of (key, value) pairs) as a list of pairs."""
    if isinstance(values, Mapping):
        return list(values.items())
    pairs = []
    for j, pair in enumerate(values):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise OpError(
                f"{who}.update: element #{j} of the sequence should be a (key, value) pair, got "
                f"{pair!r:.60}"
            )
        pairs.append(tuple(pair))
    return pairs


def _as_parameter(value):
    """As PyTorch's parameter containers: a plain Tensor becomes a Parameter (sharing its data);
    anything else is kept as it is."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value.data, requires_grad=True)
    return value


def _described(value) -> str:
    if isinstance(value, Tensor):
        size = "x".join(map(str, value.shape)) or "()"
        kind = "Parameter containing" if isinstance(value, Parameter) else "Tensor"
        return f"{kind}: [{value.dtype} of size {size}]"
    return repr(value)


class _NamedEntries(Module):
    """What ModuleDict and ParameterDict share: entries by name, in insertion order, reached as
    ``d[key]`` or ``d.key``, named ``<key>`` in state dicts (``blocks.a.weight``)."""

    def __init__(self):
        super().__init__()
        self._entries: dict = {}

    def _set(self, key, value) -> None:
        raise NotImplementedError

    def __getitem__(self, key):
        return self._entries[key]

    def __setitem__(self, key, value) -> None:
        self._set(_checked_key(type(self).__name__, key), value)

    def __delitem__(self, key) -> None:
        del self._entries[key]

    def __getattr__(self, name: str):  # only called when normal lookup fails: ``blocks.a``
        entries = self.__dict__.get("_entries", {})
        if name in entries:
            return entries[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or key {name!r}")

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries)

    def __contains__(self, key) -> bool:
        return key in self._entries

    def keys(self):
        """The names, in insertion order."""
        return self._entries.keys()

    def items(self):
        """(name, entry) pairs, in insertion order."""
        return self._entries.items()

    def values(self):
        """The entries, in insertion order."""
        return self._entries.values()

    def pop(self, key):
        """Remove the entry ``key`` and return it."""
        return self._entries.pop(key)

    def clear(self) -> None:
        """Remove every entry."""
        self._entries.clear()

    def _members(self) -> list:
        return [(key, value, False) for key, value in self._entries.items()
                if isinstance(value, Parameter | Module)]  # fmt: skip


class ModuleDict(_NamedEntries):
    """Modules by name, in insertion order (also from a plain dict, as PyTorch's): ``blocks["a"]``
    or ``blocks.a``, and their parameters are named ``blocks.a.weight``.

    >>> from minigrad import nn
    >>> heads = nn.ModuleDict({"b": nn.Linear(2, 1), "a": nn.Linear(2, 3)})
    >>> list(heads.keys()), list(heads.state_dict())[:2]
    (['b', 'a'], ['b.weight', 'b.bias'])
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _set(self, key: str, module) -> None:
        if not isinstance(module, Module):
            raise DTypeError(f"ModuleDict[{key!r}]: {type(module).__name__} is not a Module")
        self._entries[key] = module

    def __setattr__(self, name: str, value) -> None:
        # as PyTorch's: a module assigned as an attribute is an entry (``blocks.c = nn.ReLU()``)
        if isinstance(value, Module):
            self[name] = value
        else:
            super().__setattr__(name, value)

    def update(self, modules) -> None:
        """Add (or replace) the entries of a mapping or of an iterable of (name, module) pairs,
        in their order."""
        for key, module in _pairs("ModuleDict", modules):
            self[key] = module


class ParameterList(Module):
    """Parameters in a list, named ``0``, ``1``, ... (``params.0`` in a parent); a plain Tensor
    put in becomes a Parameter, as PyTorch's.

    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> params = nn.ParameterList([mg.zeros(2), nn.Parameter(mg.ones(3))])
    >>> [type(p).__name__ for p in params], list(params.state_dict())
    (['Parameter', 'Parameter'], ['0', '1'])
    """

    def __init__(self, values=None):
        super().__init__()
        self._values: list = []
        if values is not None:
            self.extend(values)

    def _index(self, idx: int) -> int:
        idx = operator.index(idx)
        if not -len(self) <= idx < len(self):
            raise IndexError(f"ParameterList: index {idx} is out of range for {len(self)} entries")
        return idx % len(self)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(self._values[idx])
        return self._values[self._index(idx)]

    def __setitem__(self, idx: int, value) -> None:
        self._values[self._index(idx)] = _as_parameter(value)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __iadd__(self, values) -> ParameterList:
        return self.extend(values)

    def append(self, value) -> ParameterList:
        """Add one entry at the end."""
        self._values.append(_as_parameter(value))
        return self

    def extend(self, values) -> ParameterList:
        """Add entries at the end, in order."""
        if isinstance(values, str) or not hasattr(values, "__iter__"):
            raise DTypeError(
                f"ParameterList.extend should be called with an iterable, but got "
                f"{type(values).__name__}"
            )
        for value in values:
            self.append(value)
        return self

    def _members(self) -> list:
        return [(str(i), value, False) for i, value in enumerate(self._values)
                if isinstance(value, Parameter | Module)]  # fmt: skip

    def __repr__(self) -> str:
        lines = [f"  ({i}): {_described(value)}" for i, value in enumerate(self._values)]
        return "\n".join(["ParameterList(", *lines, ")"])


class ParameterDict(_NamedEntries):
    """Parameters by name (``params.a`` in a parent); a plain Tensor put in becomes a Parameter.
    As PyTorch's, a plain dict given to the constructor or ``update`` is added in sorted key
    order (an ``OrderedDict``, a ``ParameterDict`` or a list of pairs keeps its order).

    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> list(nn.ParameterDict({"z": mg.zeros(2), "a": mg.ones(1)}).state_dict())
    ['a', 'z']
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _set(self, key: str, value) -> None:
        self._entries[key] = _as_parameter(value)

    def update(self, parameters) -> None:
        """Add (or replace) entries: a plain dict's in sorted key order, an ``OrderedDict``'s, a
        ``ParameterDict``'s or a sequence of pairs' in their order (PyTorch's rule)."""
        pairs = _pairs("ParameterDict", parameters)
        if isinstance(parameters, Mapping) and not isinstance(
            parameters, OrderedDict | ParameterDict
        ):
            pairs = sorted(pairs, key=lambda pair: pair[0])
        for key, value in pairs:
            self[key] = value

    def get(self, key: str, default=None):
        """The entry ``key``, or ``default``."""
        return self._entries.get(key, default)

    def setdefault(self, key: str, default=None):
        """The entry ``key``; set to ``default`` first if it is missing."""
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple:
        """Remove the last entry and return it as ``(key, value)``."""
        return self._entries.popitem()

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameters, in the same order."""
        return ParameterDict(OrderedDict(self._entries))

    def fromkeys(self, keys, default=None) -> ParameterDict:
        """A new ParameterDict with ``keys``, each set to ``default``."""
        return ParameterDict([(key, default) for key in keys])

    def __repr__(self) -> str:
        lines = [f"  ({key}): {_described(value)}" for key, value in self._entries.items()]
        return "\n".join(["ParameterDict(", *lines, ")"])
