"""Tensor's shape and indexing methods."""

from __future__ import annotations

from .namespace import mg


class ShapeMethods:
    """``x.reshape(...)``, ``x.transpose(...)``, ``x.T``, ... (a mixin of ``Tensor``)."""

    __slots__ = ()

    # ----- shape ---------------------------------------------------------------------------------

    @property
    def T(self):
        """The tensor with its axes reversed (numpy's ``.T``)."""
        return mg.transpose(self)

    def reshape(self, *shape):
        """``mg.reshape``: the same elements in a new shape (one axis may be -1)."""
        return mg.reshape(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """``mg.flatten``: the axes ``start_dim..end_dim`` merged into one."""
        return mg.flatten(self, start_dim, end_dim)

    def transpose(self, *axes):
        """``mg.transpose``: the axes permuted (reversed when none are given)."""
        return mg.transpose(self, *axes)

    def swapaxes(self, axis1: int, axis2: int):
        """``mg.swapaxes``: two axes exchanged."""
        return mg.swapaxes(self, axis1, axis2)

    def moveaxis(self, source: int, destination: int):
        """``mg.moveaxis``: one axis moved to a new position."""
        return mg.moveaxis(self, source, destination)

    def expand_dims(self, axis):
        """``mg.expand_dims``: size-1 axes inserted at ``axis``."""
        return mg.expand_dims(self, axis)

    def squeeze(self, axis=None):
        """``mg.squeeze``: size-1 axes removed."""
        return mg.squeeze(self, axis)

    def broadcast_to(self, shape):
        """``mg.broadcast_to``: repeated to ``shape`` (numpy's rule)."""
        return mg.broadcast_to(self, shape)

    def split(self, indices_or_sections, axis: int = 0):
        """``mg.split``: pieces along ``axis``."""
        return mg.split(self, indices_or_sections, axis)

    def pad(self, pad_width, mode: str = "constant", constant_values=0):
        """``mg.pad``: padded with a constant (or ``mode``) around each axis."""
        return mg.pad(self, pad_width, mode, constant_values)

    def repeat(self, repeats, axis=None):
        """``mg.repeat``: each element repeated."""
        return mg.repeat(self, repeats, axis)

    def tile(self, reps):
        """``mg.tile``: the whole tensor repeated."""
        return mg.tile(self, reps)
