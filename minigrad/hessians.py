"""Second derivatives by forward-over-reverse: ``hvp`` (Hessian-vector products) and ``hessian``.

The inputs carry tangents (a batch of ``k`` directions), ``f`` runs, and backward runs while
forward mode is on. Every operation of the backward pass pushes tangents too, so the tangent of
the gradient is ``H @ v`` for each direction ``v``: ``k`` products from one pass. With the rows
of the identity as the directions, the products are the rows of the Hessian.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import autodiff, autograd
from .autodiff import forward_mode
from .errors import MinigradError, ShapeError
from .tensor import Tensor
from .transforms import _argnums, _argnums_tuple, _float_input, _single, tangent_inputs

DEFAULT_MAX_MEMORY = 2**30  # bytes: 1 GiB for the Hessian and the tangents of one chunk


class HessianTooLarge(MinigradError, MemoryError):
    """The Hessian, or one chunk of tangents, would need more memory than allowed."""


def _hessian_vector_products(fname, f, xs_data, tangents, batched=None):
    """``(H @ v)`` blocks for each input (batch axis first) and whether tangents were batched."""
    xs, B, batched = tangent_inputs(fname, xs_data, tangents, batched, requires_grad=True)
    with forward_mode(), autodiff.enable_grad():
        out = f(*xs)
        if not isinstance(out, Tensor) or out.size != 1:
            what = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
            raise ShapeError(
                f"{fname}: the function must return a scalar Tensor, it returned {what}; "
                f"reduce it (e.g. .sum())"
            )
        if not out.requires_grad:
            return [np.zeros((B, *x.shape), x.dtype) for x in xs], batched
        grads = autograd.grad(out, xs)
    products = [
        np.zeros((B, *x.shape), x.dtype) if g.tangent is None else g.tangent
        for g, x in zip(grads, xs)
    ]
    return products, batched


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
    products, batched = _hessian_vector_products("hvp", f, primals, tangents)
    blocks = [Tensor(p if batched else p[0]) for p in products]
    return blocks[0] if len(blocks) == 1 else tuple(blocks)


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
    measures the intermediates of ``f``; ``chunk_size`` (by default the largest that fits) is
    then checked so that the total stays under ``max_memory`` bytes (default 1 GiB). If it
    cannot, a ``HessianTooLarge`` error says how much is needed.
    """
    _argnums_tuple("hessian", argnums)

    def hessian_f(*args):
        nums = _argnums("hessian", argnums, len(args))
        xs = [_float_input("hessian", args[i], i) for i in nums]
        sizes = [x.size for x in xs]
        n = sum(sizes)
        dtype = np.result_type(*[x.dtype for x in xs])

        def g(*diff):
            full = list(args)
            for i, d in zip(nums, diff):
                full[i] = d
            return f(*full)

        chunk = _chunk_size(g, xs, n, dtype, chunk_size, max_memory)
        offsets = np.cumsum([0, *sizes])
        H = None  # made at the first pass, unless that pass gives the whole Hessian
        for start in range(0, n, chunk):
            # NOTE: only this chunk's rows of the identity: an n x n one would be a second
            # Hessian's worth of memory, outside max_memory.
            rows = np.eye(min(chunk, n - start), n, k=start, dtype=dtype)
            tangents = tuple(
                rows[:, a:b].reshape((len(rows), *x.shape))
                for x, a, b in zip(xs, offsets[:-1], offsets[1:])
            )
            products, _ = _hessian_vector_products("hessian", g, tuple(xs), tangents, True)
            if chunk >= n and len(products) == 1 and products[0].dtype == dtype:
                H = products[0].reshape(n, n)  # one pass, one input: already the Hessian
                break
            if H is None:
                H = np.empty((n, n), dtype)
            for p, a, b in zip(products, offsets[:-1], offsets[1:]):
                H[start : start + len(rows), a:b] = p.reshape(len(rows), -1)
        if flat:
            return Tensor(H)
        blocks = [
            [
                Tensor(H[a:b, c:d].reshape(xi.shape + xj.shape))
                for xj, c, d in zip(xs, offsets[:-1], offsets[1:])
            ]
            for xi, a, b in zip(xs, offsets[:-1], offsets[1:])
        ]
        return (
            blocks[0][0]
            if isinstance(argnums, (int, np.integer))
            else _single(argnums, [tuple(row) for row in blocks])
        )

    return hessian_f


def _chunk_size(g, xs, n, dtype, chunk_size, max_memory) -> int:
    """How many Hessian rows one pass computes, checked against ``max_memory``."""
    itemsize = np.dtype(dtype).itemsize
    result = n * n * itemsize
    if result > max_memory:
        raise HessianTooLarge(
            f"hessian: {n} inputs give a {n} x {n} Hessian of {_gib(result)}, more than "
            f"max_memory={_gib(max_memory)}; raise max_memory, or use mg.hvp for products "
            f"with a few vectors"
        )
    # Probe: the intermediates of f (its tape), each of which gets one tangent per row in the
    # forward pass and about two more in the backward pass.
    leaves = [Tensor(x.data, requires_grad=True) for x in xs]
    with autodiff.enable_grad():
        out = g(*leaves)
    tape = autograd.toposort(out) if isinstance(out, Tensor) and out.requires_grad else []
    per_row = 3 * itemsize * sum(t.size for t in tape) + 2 * itemsize * n
    fits = max(0, (max_memory - result) // per_row)
    if chunk_size is None:
        if fits == 0:
            raise HessianTooLarge(
                f"hessian: one row needs about {_gib(per_row)} of tangents on top of the "
                f"{_gib(result)} result, more than max_memory={_gib(max_memory)}; raise "
                f"max_memory"
            )
        return int(min(n, fits))
    if chunk_size < 1:
        raise ShapeError(f"hessian: chunk_size must be at least 1, got {chunk_size}")
    if chunk_size > fits:
        raise HessianTooLarge(
            f"hessian: chunk_size={chunk_size} needs about {_gib(min(chunk_size, n) * per_row)} "
            f"of tangents on top of the {_gib(result)} result, more than "
            f"max_memory={_gib(max_memory)}; use chunk_size <= {max(fits, 1)} or raise "
            f"max_memory"
        )
    return int(min(n, chunk_size))


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.3g} KiB"
