"""Tensor's shape and indexing methods, with PyTorch's meanings; ``Size``, what ``x.size()`` is."""

from __future__ import annotations

import math

from ..errors import IndexingError, ShapeError
from .namespace import mg


class Size(tuple):
    """PyTorch's ``torch.Size``: the sizes of a tensor's dims (``x.size()``), a tuple."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __repr__(self) -> str:
        return f"minigrad.Size({list(self)})"


class ShapeMethods:
    """``x.view(...)``, ``x.permute(...)``, ``x.transpose(0, 1)``, ``x.gather(...)``, ... (a mixin
    of ``Tensor``)."""

    __slots__ = ()

    # ----- sizes ---------------------------------------------------------------------------------

    def size(self, dim: int | None = None):
        """The shape as a ``Size`` (a tuple), or the size of dim ``dim`` as an int."""
        shape = self.data.shape
        if dim is None:
            return Size(shape)
        if not shape or not -len(shape) <= dim < len(shape):
            raise IndexingError(
                f"size: dim {dim} is out of range for a tensor of shape {shape}"
                + (f"; use a dim in [{-len(shape)}, {len(shape) - 1}]" if shape else "")
            )
        return shape[dim]

    def dim(self) -> int:
        """The number of dims (``ndim``)."""
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    nelement = numel

    def contiguous(self, memory_format=None):
        """The tensor itself: numpy data has no strides contract to restore."""
        return self

    # ----- reshaping -----------------------------------------------------------------------------

    def view(self, *shape):
        """``mg.view``: the same elements in a new shape (here the same as ``reshape``)."""
        return mg.view(self, *shape)

    def view_as(self, other):
        """``mg.view``: the same elements in ``other``'s shape."""
        return mg.view(self, other.shape)

    def reshape(self, *shape):
        """``mg.reshape``: the same elements in a new shape (one dim may be -1)."""
        return mg.reshape(self, *shape)

    def reshape_as(self, other):
        """``mg.reshape``: the same elements in ``other``'s shape."""
        return mg.reshape(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """``mg.flatten``: the dims ``start_dim..end_dim`` merged into one."""
        return mg.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes):
        """``mg.unflatten``: dim ``dim`` split into ``sizes``."""
        return mg.unflatten(self, dim, sizes)

    # ----- reordering dims -----------------------------------------------------------------------

    @property
    def T(self):
        """The tensor with its dims reversed (the transpose of a matrix)."""
        return mg.permute(self, tuple(reversed(range(self.data.ndim))))

    @property
    def mT(self):
        """The last two dims swapped: the transpose of each matrix of a batch."""
        if self.data.ndim < 2:
            raise ShapeError(
                f"mT: needs a matrix or a batch of matrices, got shape {self.data.shape}"
            )
        return mg.transpose(self, -2, -1)

    def t(self):
        """``mg.t``: the transpose of a matrix (0-d and 1-d tensors as they are)."""
        return mg.t(self)

    def permute(self, *dims):
        """``mg.permute``: the dims in the order ``dims``."""
        return mg.permute(self, *dims)

    def transpose(self, dim0: int, dim1: int | None = None, *more):
        """``mg.transpose``: dims ``dim0`` and ``dim1`` swapped (use ``permute`` for more)."""
        return mg.transpose(self, dim0, dim1, *more)

    def swapaxes(self, dim0: int, dim1: int):
        """``mg.transpose``: dims ``dim0`` and ``dim1`` swapped."""
        return mg.transpose(self, dim0, dim1)

    def swapdims(self, dim0: int, dim1: int):
        """``mg.transpose``: dims ``dim0`` and ``dim1`` swapped."""
        return mg.transpose(self, dim0, dim1)

    def movedim(self, source, destination):
        """``mg.movedim``: dims moved to new positions."""
        return mg.movedim(self, source, destination)

    def moveaxis(self, source, destination):
        """``mg.movedim``: dims moved to new positions."""
        return mg.movedim(self, source, destination)

    # ----- dims of size 1 and broadcasting -------------------------------------------------------

    def unsqueeze(self, dim: int):
        """``mg.unsqueeze``: a dim of size 1 inserted at ``dim``."""
        return mg.unsqueeze(self, dim)

    def expand_dims(self, axis):
        """``mg.expand_dims``: size-1 dims inserted at ``axis`` (numpy's name)."""
        return mg.expand_dims(self, axis)

    def squeeze(self, dim=None, *, axis=None):
        """``mg.squeeze``: dims of size 1 removed (all, or those among ``dim``)."""
        return mg.squeeze(self, dim, axis=axis)

    def expand(self, *sizes):
        """``mg.expand``: repeated along dims of size 1 and new leading dims (-1 keeps one)."""
        return mg.expand(self, *sizes)

    def expand_as(self, other):
        """``mg.expand``: repeated to ``other``'s shape."""
        return mg.expand(self, other.shape)

    def broadcast_to(self, shape):
        """``mg.broadcast_to``: repeated to ``shape``."""
        return mg.broadcast_to(self, shape)

    # ----- splitting and repeating ---------------------------------------------------------------

    def split(self, split_size, dim: int = 0):
        """``mg.split``: pieces of ``split_size`` along ``dim`` (or of the sizes in a list)."""
        return mg.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0):
        """``mg.chunk``: at most ``chunks`` pieces of equal size (but the last) along ``dim``."""
        return mg.chunk(self, chunks, dim)

    def narrow(self, dim: int, start: int, length: int):
        """``mg.narrow``: ``length`` elements from ``start`` along ``dim``."""
        return mg.narrow(self, dim, start, length)

    def repeat(self, *sizes):
        """``mg.repeat``: the whole tensor tiled ``sizes[i]`` times along dim i."""
        return mg.repeat(self, *sizes)

    def tile(self, dims):
        """``mg.tile``: the whole tensor repeated (1s prepended to short ``dims``)."""
        return mg.tile(self, dims)

    def repeat_interleave(self, repeats, dim: int | None = None):
        """``mg.repeat_interleave``: each element repeated ``repeats`` times."""
        return mg.repeat_interleave(self, repeats, dim)

    def flip(self, *dims):
        """``mg.flip``: the elements in reverse order along ``dims``."""
        return mg.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts, dims=None):
        """``mg.roll``: the elements shifted cyclically along ``dims``."""
        return mg.roll(self, shifts, dims)

    # ----- indexing ------------------------------------------------------------------------------

    def gather(self, dim: int, index):
        """``mg.gather``: ``out[i][j] = self[index[i][j]][j]`` (dim 0), shaped as ``index``."""
        return mg.gather(self, dim, index)

    def scatter(self, dim: int, index, src=None, value=None, *, reduce=None):
        """``mg.scatter``: a copy with ``src`` (or ``value``) written at ``index`` along ``dim``."""
        return mg.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_(self, dim: int, index, src=None, value=None, *, reduce=None):
        """``mg.scatter`` in place."""
        return mg.scatter_(self, dim, index, src, value, reduce=reduce)

    def scatter_add(self, dim: int, index, src):
        """``mg.scatter_add``: a copy with ``src`` added at ``index`` along ``dim``."""
        return mg.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index, src):
        """``mg.scatter_add`` in place."""
        return mg.scatter_add_(self, dim, index, src)

    def index_select(self, dim: int, index):
        """``mg.index_select``: the entries ``index`` along ``dim``."""
        return mg.index_select(self, dim, index)

    def take(self, index):
        """``mg.take``: the elements of the flattened tensor at ``index``."""
        return mg.take(self, index)

    def take_along_dim(self, indices, dim: int | None = None):
        """``mg.take_along_dim``: ``gather`` with broadcasting."""
        return mg.take_along_dim(self, indices, dim)

    def masked_fill(self, mask, value):
        """``mg.masked_fill``: ``value`` where ``mask`` is true."""
        return mg.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value):
        """``mg.masked_fill`` in place."""
        return mg.masked_fill_(self, mask, value)

    def tril(self, diagonal: int = 0):
        """``mg.tril``: the lower triangle of the last two dims."""
        return mg.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        """``mg.triu``: the upper triangle of the last two dims."""
        return mg.triu(self, diagonal)
