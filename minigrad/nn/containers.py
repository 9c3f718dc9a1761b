"""Containers: ``Sequential`` (modules applied in turn) and ``ModuleList`` (modules kept in a list),
with PyTorch's names for what they hold (``0.weight``, or ``fc.weight`` for an OrderedDict)."""

from __future__ import annotations

from collections import OrderedDict

from ..errors import DTypeError
from .module import Module


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
