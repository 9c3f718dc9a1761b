"""minigrad's exceptions: each names the operation, the shapes or dtypes involved, and the fix."""


class MinigradError(Exception):
    """Base class of every error minigrad raises for a user mistake."""


class ShapeError(MinigradError, ValueError):
    """Operands whose shapes do not fit the operation (broadcasting, matmul, reshape, axes)."""


class DTypeError(MinigradError, TypeError):
    """A dtype the operation cannot take (e.g. an integer tensor asked to require grad)."""


class BackwardError(MinigradError, RuntimeError):
    """Backward cannot run: freed graph, non-scalar output without grad, in-place change, ..."""


class IndexingError(MinigradError, IndexError):
    """An index that does not fit the tensor."""


class OpError(MinigradError, ValueError):
    """An operation that cannot run on the values it was given."""
