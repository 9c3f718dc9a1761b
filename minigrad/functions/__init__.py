"""The ``mg.*`` functions on Tensors: composites over the primitives of ``ops/``.

- ``operands``: numbers and arrays as Tensors; the one place where operands are broadcast
- ``arithmetic``: ``add`` ... ``pow``, elementwise functions, ``where``, ``clamp``, ``astype``
- ``comparison``: ``isclose``, ``allclose``, ``equal``
- ``conversion``: ``to``, ``type_as``, ``is_floating_point`` (dtypes and devices of tensors)
- ``logical``: ``logical_and``/``or``/``xor``/``not``, ``bitwise_*`` (``&``, ``|``, ``^``, ``~``)
- ``reductions``: ``sum``, ``mean``, ``std``, ``max``, ``amax``, ``logsumexp``, ``argmax``, ...
- ``scans``: ``cumsum``, ``cumprod``; ``sorting``: ``sort``, ``argsort``, ``topk``
- ``softmax``: ``softmax``, ``log_softmax``
- ``linalg``: ``matmul``, ``mm``, ``bmm``, ``dot``, ``outer``, ``einsum``; ``norms``: ``norm``, ...
- ``shaping``: ``reshape``/``view``, ``permute``, ``transpose``, ``squeeze``, ``expand``, ...
- ``joining``: ``cat``, ``stack``, ``split``, ``chunk``, ``repeat``, ``flip``, ``roll``, ...
- ``indexing``: ``x[index]``, ``gather``, ``scatter``, ``index_select``, ``masked_fill``, ...

Tensor's methods call these; they are handed to it here (see ``methods/``).
"""

from ..methods import provide, provide_operators  # noqa: I001  (lists packed, fmt: skip)
from . import return_types
from .arithmetic import (
    abs, add, astype, ceil, clamp, clamp_, clip, compare, cos, div, erf, exp, expm1, floor, log,
    log1p, log2, log10, maximum, minimum, mul, neg, pow, reciprocal, relu, round, rsqrt, sigmoid,
    sign, sin, sqrt, square, sub, tan, tanh, trunc, where, floor_divide, remainder,
)  # fmt: skip
from .comparison import allclose, equal, isclose
from .conversion import cast, is_complex, is_floating_point, is_tensor, tensor_type, to, type_as
from .indexing import (
    gather, getitem, index_select, masked_fill, masked_fill_, normalize_index, scatter, scatter_,
    with_values_at,
    scatter_add, scatter_add_, take, take_along_dim, tril, triu,
)  # fmt: skip
from .joining import (
    cat, chunk, concat, concatenate, flip, hstack, narrow, repeat, repeat_interleave, roll, split,
    stack, tile, vstack,
)  # fmt: skip
from .linalg import bmm, dot, einsum, matmul, mm, outer
from .logical import (
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor, logical_and, logical_not, logical_or,
    logical_xor,
)  # fmt: skip
from .norms import linalg_norm, matrix_norm, norm, vector_norm
from .operands import as_tensor, broadcast_operands, broadcast_shape, broadcasts_to
from .reductions import (
    all, amax, amin, any, argmax, argmin, count_nonzero, logsumexp, max, mean, min,
    normalize_axes, prod, std, sum, var,
)  # fmt: skip
from .scans import cumprod, cumsum
from .shaping import (
    broadcast_to, expand, expand_dims, flatten, moveaxis, movedim, numel, permute, reshape,
    squeeze, swapaxes, swapdims, t, transpose, unflatten, unsqueeze, view,
)  # fmt: skip
from .softmax import log_softmax, softmax
from .sorting import argsort, sort, topk

provide(
    abs, add, astype, ceil, clamp, clamp_, clip, compare, cos, div, exp, expm1, floor, log, log1p,
    log2, log10, maximum, minimum, mul, neg, pow, reciprocal, relu, round, rsqrt, sigmoid, sign,
    sin, sqrt, square, sub, tan, tanh, trunc, where, floor_divide, remainder,
    allclose, equal, isclose,
    all, amax, amin, any, argmax, argmin, count_nonzero, logsumexp, max, mean, min, prod, std, sum,
    var, cumprod, cumsum, log_softmax, softmax, argsort, sort, topk,
    bmm, dot, matmul, mm, norm, outer,
    broadcast_to, expand, expand_dims, flatten, movedim, permute, reshape, squeeze, t, transpose,
    unflatten, unsqueeze, view,
    chunk, flip, narrow, repeat, repeat_interleave, roll, split, tile,
    gather, getitem, index_select, masked_fill, masked_fill_, normalize_index, scatter, scatter_,
    with_values_at,
    scatter_add, scatter_add_, take, take_along_dim, tril, triu,
)  # fmt: skip
provide(cast, is_complex, is_floating_point, tensor_type, to, type_as)
provide(
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor, logical_and, logical_not, logical_or,
    logical_xor,
)  # fmt: skip
provide_operators(add, sub, mul, div, pow, matmul)
