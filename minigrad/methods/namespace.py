"""``mg``: the mg.* functions that Tensor's methods call, as the modules defining them hand them
in (``provide``). See ``methods/__init__.py`` for why they are handed in rather than imported."""

from __future__ import annotations

from types import SimpleNamespace

# The mg.* functions, as handed in by the modules that define them.
mg = SimpleNamespace()


def provide(*functions) -> None:
    """Hand ``functions`` to Tensor's methods, as ``mg.<name>``."""
    for fn in functions:
        setattr(mg, fn.__name__, fn)
