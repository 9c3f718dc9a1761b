"""The ``mg.*`` functions on Tensors: composites over the primitives of ``ops/``.

- ``operands``: numbers and arrays as Tensors; the one place where operands are broadcast
- ``arithmetic``: ``add`` ... ``pow``, elementwise functions, ``where``, ``clip``, ``astype``
- ``reductions``: ``sum``, ``mean``, ``var``, ``max``, ``logsumexp``, ``argmax``, ...
- ``linalg``: ``matmul``, ``dot``, ``outer``, ``einsum``
- ``shaping``: ``reshape``, ``transpose``, ``concatenate``, ``pad``, indexing, ...

Tensor's methods call these; they are handed to it here (see ``methods/``).
"""

from ..methods import provide, provide_operators
from .arithmetic import (
    abs,
    add,
    astype,
    clip,
    compare,
    cos,
    div,
    erf,
    exp,
    expm1,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sign,
    sin,
    sqrt,
    sub,
    tan,
    tanh,
    where,
)  # fmt: skip
from .linalg import dot, einsum, matmul, outer
from .operands import as_tensor, broadcast_operands, broadcast_shape, broadcasts_to
from .reductions import (
    all,
    any,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    normalize_axes,
    prod,
    std,
    sum,
    var,
)  # fmt: skip
from .shaping import (
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    moveaxis,
    normalize_index,
    pad,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    tile,
    transpose,
)  # fmt: skip

provide(
    abs, add, astype, clip, compare, cos, div, exp, expm1, log, log1p, maximum, minimum, mul, neg,
    pow, relu, sigmoid, sign, sin, sqrt, sub, tan, tanh,
    all, any, argmax, argmin, logsumexp, max, mean, min, prod, std, sum, var,
    dot, matmul,
    broadcast_to, expand_dims, flatten, getitem, moveaxis, normalize_index, pad, repeat, reshape,
    split, squeeze, swapaxes, tile, transpose,
)  # fmt: skip
provide_operators(add, sub, mul, div, pow, matmul)
