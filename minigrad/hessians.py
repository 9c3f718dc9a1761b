"""Second derivatives by forward-over-reverse: ``hvp`` (Hessian-vector products) and ``hessian``.

The inputs carry tangents (a batch of ``k`` directions), ``f`` runs, and backward runs while
forward mode is on. Every operation of the backward pass pushes tangents too, so the tangent of
the gradient is ``H @ v`` for each direction ``v``: ``k`` products from one pass. With the rows
of the identity as the directions, the products are the rows of the Hessian.

The pieces are shared with ``optim.closure_curvature`` and ``optim.Newton``, which do the same on
a PyTorch-style closure, and with ``curvature``: ``gradient_tangents`` (one
forward-over-reverse pass), ``hessian_rows`` (the Hessian a chunk of identity rows at a time),
``probe`` (one recorded run, to measure and check ``f`` first) and the memory model that picks
the chunk (``tangent_bytes_per_row``, ``rows_per_pass``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from . import autograd
from .arguments import (
    FlatLayout,
    argnums_tuple,
    call,
    float_input,
    identity_tangents,
    resolve_argnums,
    restricted,
    scalar_output,
)
from .autodiff import enable_grad, forward_mode, mode
from .batched_tangents import batch_elements, tangents_of
from .errors import MinigradError, ShapeError
from .functions import cat
from .tangents import refuse_reverse_over_forward, tangent_inputs
from .tensor import Tensor

DEFAULT_MAX_MEMORY = 2**30  # bytes: 1 GiB for the Hessian and the tangents of one chunk


class HessianTooLarge(MinigradError, MemoryError):
    """The Hessian, or one chunk of tangents, would need more memory than allowed."""


# ----- one pass, many directions -----------------------------------------------------------------


def gradient_tangents(
    gradients: Callable, inputs: Sequence[Tensor], batch: int, directions: bool = True
) -> list:
    """Forward-over-reverse: ``H @ v`` for each of ``batch`` directions, per input, as Tensors
    ``(batch, *x.shape)`` (``x.shape`` for one direction given as such: not ``directions``).

    ``inputs`` carry tangents ``(batch, *x.shape)``; ``gradients()`` computes the gradient of a
    scalar with respect to each input (a Tensor, or None for none) with a backward pass, and runs
    in forward mode with grad mode on, so the tangent of each gradient is the product. A gradient
    without a tangent does not depend on the inputs: its products are zeros.
    """
    with forward_mode(grad_enabled=True):
        grads = gradients()
    return [
        Tensor(np.zeros((batch, *x.shape) if directions else x.shape, x.dtype))
        if g is None
        else tangents_of(g, batch, directions)
        for g, x in zip(grads, inputs)
    ]


def _hessian_vector_products(fname, f, primals, tangents, batched=None):
    """``(H @ v)`` blocks for each input (batch axis first) and whether tangents were batched."""
    xs, B, batched = tangent_inputs(fname, primals, tangents, batched, requires_grad=True)

    def gradients():
        out = scalar_output(fname, call(fname, f, xs))
        refuse_reverse_over_forward(fname, out)
        return autograd.grad(out, xs) if out.requires_grad else [None] * len(xs)

    return gradient_tangents(gradients, xs, B, directions=batched), batched


def hvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Hessian-vector products of the scalar ``f`` by forward-over-reverse: ``H @ v``.

    ``primals`` and ``tangents`` are tuples with one entry per argument of ``f``; ``H`` is the
    Hessian with respect to all of them, and each result block has its primal's shape. A tangent
    of shape ``(k, *primal.shape)`` holds ``k`` directions, all computed in one pass (results
    then have shape ``(k, *primal.shape)``). Returns one Tensor for one primal, else a tuple.

    >>> import minigrad as mg
    >>> mg.hvp(lambda x: (x**3).sum(), (mg.tensor([1.0, 2.0]),), (mg.tensor([1.0, 0.0]),))
    tensor([6., 0.])
    """
    blocks = _hessian_vector_products("hvp", f, primals, tangents)[0]
    return blocks[0] if len(blocks) == 1 else tuple(blocks)


# ----- the Hessian, a chunk of rows at a time ----------------------------------------------------


def hessian_rows(
    products: Callable, layout: FlatLayout, chunk: int, dtype, out: np.ndarray | None = None
) -> np.ndarray:
    """The ``n x n`` Hessian over ``layout``'s flat vector, ``chunk`` rows per pass.

    ``products(tangents)`` takes a batch of ``B`` directions split by ``layout`` (arrays of
    shape ``(B, *shape)``) and returns ``H @ v`` split the same way. The directions are rows of
    the identity, in ``dtype``, made one chunk at a time: an ``n x n`` identity would be a
    second Hessian's worth of memory. The rows are written into ``out`` when given; otherwise a
    Hessian of ``dtype`` is made (or, from one pass over one input, the products are it).
    """
    n, H = layout.n, out
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        blocks = products(identity_tangents(layout, start, stop, dtype))
        if H is None and stop - start == n and len(blocks) == 1 and blocks[0].dtype == dtype:
            return blocks[0].reshape(n, n)  # one pass, one input: already the Hessian
        if H is None:
            H = np.empty((n, n), dtype)
        layout.join(blocks, lead=(stop - start,), out=H[start:stop])
    return np.empty((n, n), dtype) if H is None else H


def _rows_joined(products: Callable, layout: FlatLayout, chunk: int, dtype) -> Tensor:
    """``hessian_rows`` for products that are batched under ``mg.vmap`` (Tensors whose values
    cannot be written into an array): the chunks of rows joined by operations."""
    rows = []
    for start in range(0, layout.n, chunk):
        stop = min(start + chunk, layout.n)
        blocks = products(identity_tangents(layout, start, stop, dtype))
        rows.append(cat([block.reshape(stop - start, -1) for block in blocks], dim=1))
    return cat(rows) if len(rows) > 1 else rows[0]


def _as_it_is(t: Tensor) -> Tensor:
    return t


# ----- memory ------------------------------------------------------------------------------------


def tangent_bytes_per_row(tape_size: int, n: int, itemsize: int) -> int:
    """The memory one Hessian row adds to a forward-over-reverse pass, in bytes.

    ``tape_size`` is the number of elements on the tape of ``f`` (its inputs and intermediate
    values): each gets one tangent per row in the forward pass and about two more in the
    backward pass (cotangents and their tangents). On top of those, the row of the identity and
    the product, ``n`` elements each."""
    return 3 * itemsize * tape_size + 2 * itemsize * n


def rows_per_pass(
    fname: str,
    n: int,
    result_bytes: int,
    per_row_bytes: int,
    chunk_size: int | None,
    max_memory: int,
    advice: str = "",
) -> int:
    """How many Hessian rows one pass computes: ``chunk_size``, or by default the most that fit
    in ``max_memory`` next to the result (``result_bytes``, checked by the caller to fit).
    ``HessianTooLarge`` if one row, or the ``chunk_size`` asked for, does not fit; ``advice``
    ends its message with what else the caller offers."""
    room = max_memory - result_bytes
    fits = n if math.isinf(room) else max(0, int(room // max(per_row_bytes, 1)))
    if chunk_size is None:
        if fits == 0:
            raise HessianTooLarge(
                f"{fname}: one row needs about {format_bytes(per_row_bytes)} of tangents on top "
                f"of the {format_bytes(result_bytes)} result, more than "
                f"max_memory={format_bytes(max_memory)}; raise max_memory{advice}"
            )
        return int(max(1, min(n, fits)))  # at least 1: a step for range(), even when n = 0
    if chunk_size < 1:
        raise ShapeError(f"{fname}: chunk_size must be at least 1, got {chunk_size}")
    if chunk_size > fits:
        needed = min(chunk_size, n) * per_row_bytes
        raise HessianTooLarge(
            f"{fname}: chunk_size={chunk_size} needs about {format_bytes(needed)} of tangents on "
            f"top of the {format_bytes(result_bytes)} result, more than "
            f"max_memory={format_bytes(max_memory)}; use chunk_size <= {max(fits, 1)} or "
            f"raise max_memory{advice}"
        )
    return int(max(1, min(n, chunk_size)))


def format_bytes(nbytes: float) -> str:
    """A size in bytes, in the largest of GiB, MiB and KiB that it reaches (``191 MiB``)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def probe(f: Callable, xs: Sequence[Tensor]) -> tuple[list, object, list]:
    """``(leaves, out, tape)`` from one plain recorded run of ``f`` on fresh leaves with the
    values of ``xs``: the tape lists its inputs and every intermediate value (empty when ``out``
    is not a Tensor that requires grad). What it measures and checks before the real passes."""
    leaves = [Tensor(x.data, requires_grad=True) for x in xs]
    with enable_grad():
        out = f(*leaves)
    tape = autograd.toposort(out) if isinstance(out, Tensor) and out.requires_grad else []
    return leaves, out, tape


def arguments_form(args) -> tuple | None:
    """What the size of ``f``'s tape depends on, for a call with ``args``: the shapes and dtypes
    of arrays and Tensors, the values of numbers and strings; None if an argument is of another
    kind (then nothing is remembered)."""
    form = []
    for a in args:
        if isinstance(a, (Tensor, np.ndarray)):
            form.append((a.shape, a.dtype))
        elif type(a) in (int, float, bool, str, type(None)):
            form.append((type(a), a))
        else:
            return None
    return tuple(form)


# ----- hessian -----------------------------------------------------------------------------------


def hessian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    chunk_size: int | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    flat: bool = False,
) -> Callable:
    """``f`` -> its Hessian, by forward-over-reverse with the identity's rows as tangents.

    Shape ``x.shape + x.shape`` for an int ``argnums``. For a tuple, the block Hessian as nested
    tuples, ``H[i][j]`` of shape ``x_i.shape + x_j.shape`` (JAX's layout), or with ``flat=True``
    one ``(n, n)`` matrix over all the arguments flattened and concatenated in order.

    Memory: the ``n x n`` result plus, per chunk of ``c`` rows, about ``c`` copies of every
    intermediate value of ``f`` and of its backward pass. Before allocating, one probe pass
    measures the intermediates of ``f`` (once for each form of the arguments: shapes, dtypes,
    the values of numbers); ``chunk_size`` (by default the largest that fits) is
    then checked so that the total stays under ``max_memory`` bytes (default 1 GiB). If it
    cannot, a ``HessianTooLarge`` error says how much is needed.
    """
    argnums_tuple("hessian", argnums)
    tape_sizes: dict = {}  # the probe's measure, by the form of the arguments (see below)

    def hessian_f(*args):
        nums = resolve_argnums("hessian", argnums, len(args))
        xs = [float_input("hessian", args[i], i) for i in nums]
        layout = FlatLayout([x.shape for x in xs])
        n = layout.n
        dtype = np.result_type(*[x.dtype for x in xs])
        itemsize = np.dtype(dtype).itemsize
        g = restricted("hessian", f, args, nums)

        examples = batch_elements()  # under mg.vmap, one Hessian per example
        result = n * n * itemsize * examples
        if result > max_memory:  # before the probe: a huge n fails without allocating
            raise HessianTooLarge(
                f"hessian: {n} inputs give a {n} x {n} Hessian of {format_bytes(result)}, more "
                f"than max_memory={format_bytes(max_memory)}; raise max_memory, or use mg.hvp "
                f"for products with a few vectors"
            )
        # Each element on the tape gets tangents per row: measure the tape before allocating.
        # NOTE: measured once per form of the arguments (shapes, dtypes, other values), not on
        # every call: the probe is a whole recorded run, a quarter of the time at n = 50.
        form = arguments_form(args)
        tape_size = tape_sizes.get(form) if form is not None else None
        if tape_size is None:
            tape_size = sum(t.numel() for t in probe(g, xs)[2])
            if form is not None and len(tape_sizes) < 64:
                tape_sizes[form] = tape_size
        per_row = tangent_bytes_per_row(tape_size, n, itemsize) * examples
        chunk = rows_per_pass("hessian", n, result, per_row, chunk_size, max_memory)

        def products(tangents):
            return _hessian_vector_products("hessian", g, tuple(xs), tuple(tangents), True)[0]

        if not mode().vmap_level:  # an array, shaped by numpy, each result then a Tensor
            H = hessian_rows(lambda t: [p.data for p in products(t)], layout, chunk, dtype)
            result = Tensor
        else:  # batched values: the rows are joined (and shaped) by operations
            H = _rows_joined(products, layout, chunk, dtype)
            result = _as_it_is
        if flat:
            return result(H)
        if isinstance(argnums, (int, np.integer)):
            return result(H.reshape(xs[0].shape * 2))
        blocks = [
            [result(block.reshape(shape + block.shape[1:])) for block in layout.split(H[a:b])]
            for shape, a, b in layout.slices()
        ]
        return tuple(tuple(row) for row in blocks)

    return hessian_f
