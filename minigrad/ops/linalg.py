"""Matrix product and einsum. Their VJPs are products again, so the set stays closed."""

import string

import numpy as np

from ..primitive import Primitive, apply
from ._batched import logical_ndim
from ._tangents import add_fresh_tangents, add_tangents, identity_offset, identity_times
from .shape import BroadcastTo, Reshape, Transpose, with_rank


class MatMul(Primitive):
    """``a @ b`` for operands with at least 2 dimensions, or a matrix and a vector (2-D @ 1-D,
    1-D @ 2-D); the Tensor layer lifts other 1-D operands.

    NOTE: a matrix-vector product stays one: lifting the vector to a matrix costs two reshapes
    forward and two backward, more than the product itself for a few hundred elements.
    """

    holomorphic = True
    forward = staticmethod(np.matmul)

    @staticmethod
    def vjp(g, y, a, b, xp):
        ga = gb = None
        A, B = xp.value(a), xp.value(b)
        if a.ndim + b.ndim == 3:
            # A matrix and a vector: the matrix's cotangent is an outer product, the vector's a
            # product with the matrix from the other side (g A is A^T g, without A^T).
            if a.requires_grad:
                ga = _outer(g, B) if b.ndim == 1 else xp.apply(MatMul, B, g)
            if b.requires_grad:
                gb = _outer(A, g) if a.ndim == 1 else xp.apply(MatMul, g, A)
            return ga, gb
        if a.requires_grad:
            if _transposed(a):
                ga = (B @ g.swapaxes(-1, -2)).swapaxes(-1, -2)
            else:
                ga = g @ B.swapaxes(-1, -2)
        if b.requires_grad:
            if _transposed(b):
                gb = (g.swapaxes(-1, -2) @ A).swapaxes(-1, -2)
            else:
                gb = A.swapaxes(-1, -2) @ g
        return ga, gb

    @staticmethod
    def jvp(ts, y, a, b):
        ta, tb = ts
        return add_fresh_tangents(
            None if ta is None else _tangents_times(ta, b),
            None if tb is None else _times_tangents(a, tb),
        )

    @staticmethod
    def batch(xs, dims):
        (a, b), (da, db) = xs, dims
        ra, rb = logical_ndim(a, da), logical_ndim(b, db)
        if max(ra, rb) <= 2 and (da is None or db is None):
            return _batch_against_one(a, b, ra, rb, da is not None)
        # Both batched, or stacks of matrices: vectors made matrices, the batched operands given
        # the examples' common rank (1s after the batch axis), the stacks broadcast to one shape
        # as the functions layer does before MatMul; the vectors' axes dropped at the end.
        if ra == 1:
            a = apply(Reshape, a, shape=(*a.shape[:-1], 1, a.shape[-1]))
        if rb == 1:
            b = apply(Reshape, b, shape=(*b.shape, 1))
        rank = max(ra, rb, 2)
        a, b = with_rank(a, da, rank), with_rank(b, db, rank)
        stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        if a.shape[:-2] != stack:
            a = apply(BroadcastTo, a, shape=(*stack, *a.shape[-2:]))
        if b.shape[:-2] != stack:
            b = apply(BroadcastTo, b, shape=(*stack, *b.shape[-2:]))
        outer = a.shape[-1] == 1  # (a weight's per-example gradient: see _outer_products)
        y = _outer_products(a, b) if outer else apply(MatMul, a, b)
        if ra == 1 or rb == 1:  # the axes the vectors became
            rows = () if ra == 1 else y.shape[-2:-1]
            return apply(Reshape, y, shape=(*stack, *rows, *(() if rb == 1 else y.shape[-1:])))
        return y

    @staticmethod
    def forward_and_jvp(ts, a, b):
        """``(a @ b, its tangents)`` from one product, or None (then ``forward`` and ``jvp``).

        A matrix that carries no tangent times a vector that carries a few (``X @ w`` in forward
        mode, ``g @ X`` in forward-over-reverse): the vector and its tangents are stacked as the
        rows of one operand, so the matrix is read once instead of twice, as a careful numpy
        HVP does. Measured (one BLAS thread, a 256 x n matrix, one tangent): 0.78x the two
        products' time at n = 200, 0.70x at n = 800, but 1.09x at n = 50, where stacking costs
        more than it saves: so only from ``_STACK_MIN`` elements. The values are the products'
        but for the last bits (one matrix-matrix product in place of two matrix-vector ones).
        """
        ta, tb = ts
        if a.ndim == 2 and b.ndim == 1 and ta is None and tb is not None:
            matrix, vector, t = a.T, b, tb
        elif a.ndim == 1 and b.ndim == 2 and tb is None and ta is not None:
            matrix, vector, t = b, a, ta
        else:
            return None
        if (
            matrix.size < _STACK_MIN
            or t.ndim != 2
            or t.shape[0] > _STACK_MAX
            or not (matrix.dtype == vector.dtype == t.dtype)
            or identity_offset(t) is not None
        ):
            return None
        stacked = np.empty((t.shape[0] + 1, vector.shape[0]), vector.dtype)
        stacked[0] = vector
        stacked[1:] = t
        both = stacked @ matrix
        return both[0], both[1:]


_STACK_MIN = 2**15  # elements of the matrix from which stacking pays (see forward_and_jvp)
_STACK_MAX = 8  # tangents: beyond a few, the product with them dominates and stacking copies


def _batch_against_one(a, b, ra, rb, left_batched):
    """A batch of vectors or matrices times one vector or matrix (or the other way round), as
    one matrix product: the batch folded into the rows."""
    if left_batched:  # (B, k) @ b, or (B, m, k) @ b with the B m rows in one matrix
        rows = a if ra == 1 else apply(Reshape, a, shape=(-1, a.shape[-1]))
        y = apply(MatMul, rows, b)
        return y if ra == 1 else apply(Reshape, y, shape=(a.shape[0], a.shape[1], *y.shape[1:]))
    # a @ each b: (B, k) @ aᵀ, or b's columns as rows: (B n, k) @ aᵀ, then back
    at = a if ra == 1 else apply(Transpose, a, axes=(1, 0))
    if rb == 1:
        return apply(MatMul, b, at)
    cols = apply(Reshape, apply(Transpose, b, axes=(0, 2, 1)), shape=(-1, b.shape[1]))
    y = apply(MatMul, cols, at)  # (B n, m) or (B n,)
    y = apply(Reshape, y, shape=(b.shape[0], b.shape[2], *y.shape[1:]))
    return y if ra == 1 else apply(Transpose, y, axes=(0, 2, 1))


def _lined_up(b, y):
    """A batch of biases (B, out) shaped to broadcast against a batch of outputs ``y``."""
    return apply(Reshape, b, shape=(b.shape[0], *(1,) * (y.ndim - 2), b.shape[1]))


def _outer(u, v):
    """The outer product of two vectors (ndarrays or Tensors), as a matrix product."""
    return u.reshape((u.shape[0], 1)) @ v.reshape((1, v.shape[0]))


def _transposed(x) -> bool:
    """Whether ``x`` is a transposed view (like ``W.T`` in a linear layer).

    NOTE: its cotangent is then computed transposed too, so that after the transpose's own
    backward the parameter's gradient is contiguous: updates and reductions on it stay fast.
    """
    data = x.data
    return data.ndim == 2 and data.flags.f_contiguous and not data.flags.c_contiguous


# NOTE: numpy's matmul runs a batch of products one matrix at a time, so a batch of B tangent
# vectors would be B matrix-vector products. Folding the batch axis into the rows (or columns)
# of the one shared matrix makes it a single matrix-matrix product, which is much faster.
def _tangents_times(ta, b):
    """``ta @ b`` for a batch ``ta`` of shape (B, *a.shape)."""
    if b.ndim == 2 and ta.ndim == 2 and (offset := identity_offset(ta)) is not None:
        return identity_times(ta, offset, b)  # rows of the identity (a Jacobian, a Hessian)
    if b.ndim == 2:
        return (ta.reshape(-1, ta.shape[-1]) @ b).reshape(ta.shape[:-1] + b.shape[-1:])
    if b.ndim == 1 and ta.ndim == 3:  # matrices (B, m, k) @ a vector: one (B m, k) product
        return (ta.reshape(-1, ta.shape[-1]) @ b).reshape(ta.shape[:-1])
    return ta @ b


def _times_tangents(a, tb):
    """``a @ tb`` for a batch ``tb`` of shape (B, *b.shape), as ``(tb^T @ a^T)^T``: for the
    common column-vector ``b`` (n = 1) that needs no copies at all."""
    if a.ndim == 2 and tb.ndim == 3:
        B, k, n = tb.shape
        folded = tb.transpose(0, 2, 1).reshape(B * n, k)
        return (folded @ a.T).reshape(B, n, a.shape[0]).transpose(0, 2, 1)
    if a.ndim == 2 and tb.ndim == 2:  # a matrix @ vectors (B, k): one (B, k) @ (k, m) product
        offset = identity_offset(tb)
        return tb @ a.T if offset is None else identity_times(tb, offset, a.T)
    return a @ tb


def _outer_products(a, b):
    """Stacks of outer products, ``a`` (..., m, 1) times ``b`` (..., 1, n), by one einsum: each
    example's ``g x^T`` (a weight's per-example gradient) in one pass over the result, the same
    numbers as a matrix product per example. Measured (one thread, 128 x 128 x 784 float64:
    103 MB): 11 ms against 17 ms for numpy's broadcast multiply, whose loop over a stride-0
    operand does not vectorise as einsum's does."""
    stack = string.ascii_letters[: a.ndim - 2]
    a = apply(Reshape, a, shape=a.shape[:-1])
    b = apply(Reshape, b, shape=(*b.shape[:-2], b.shape[-1]))
    return apply(Einsum, a, b, ins=(stack + "y", stack + "z"), out=stack + "yz")


def _fresh_letters(used):
    return iter(c for c in string.ascii_letters if c not in used)


class Einsum(Primitive):
    """``np.einsum`` over explicit subscripts: ``ins`` (one string per operand) and ``out``.

    The Tensor layer expands ellipses and implicit outputs, so every letter here is explicit.
    """

    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, ins, out):
        # One einsum: a fresh letter for the batch, on the batched operands and the output.
        b = next(_fresh_letters(set("".join(ins)) | set(out)))
        ins = tuple(s if d is None else b + s for s, d in zip(ins, dims))
        return apply(Einsum, *xs, ins=ins, out=b + out)

    @staticmethod
    def forward(*xs, ins, out):
        return np.einsum(f"{','.join(ins)}->{out}", *xs, optimize=len(xs) > 2)

    @staticmethod
    def vjp(g, y, *xs, ins, out, xp):
        values = [xp.value(x) for x in xs]
        return tuple(
            Einsum.operand_cotangent(g, values, ins, out, k, xp) if x.requires_grad else None
            for k, x in enumerate(xs)
        )

    @staticmethod
    def operand_cotangent(g, xs, ins, out, k, xp):
        """Contract ``g`` with every operand but the k-th back onto the k-th's subscripts.

        A letter repeated in operand k (a diagonal) is written to a fresh letter and tied by an
        identity matrix; a letter only operand k has (summed away) is restored by a ones vector.
        """
        target = ins[k]
        operands = [g] + [x for j, x in enumerate(xs) if j != k]
        subscripts = [out] + [s for j, s in enumerate(ins) if j != k]
        fresh = _fresh_letters(set("".join(ins)) | set(out))
        sizes = dict(zip(target, xs[k].shape))
        written = ""
        for letter in target:
            if letter in written:
                new = next(fresh)
                operands.append(np.eye(sizes[letter], dtype=g.dtype))
                subscripts.append(letter + new)
                letter = new
            elif not any(letter in s for s in subscripts):
                operands.append(np.ones(sizes[letter], dtype=g.dtype))
                subscripts.append(letter)
            written += letter
        return xp.apply(Einsum, *operands, ins=tuple(subscripts), out=written)

    @staticmethod
    def jvp(ts, y, *xs, ins, out):
        b = next(_fresh_letters(set("".join(ins)) | set(out)))
        terms = []
        for k, t in enumerate(ts):
            if t is not None:
                subs = [b + s if j == k else s for j, s in enumerate(ins)]
                operands = [t if j == k else x for j, x in enumerate(xs)]
                terms.append(np.einsum(f"{','.join(subs)}->{b}{out}", *operands))
        return add_tangents(*terms)


class Affine(Primitive):
    """``x @ w.T + b``: a linear layer as one operation, for x (N, in), w (out, in), b (out,)
    or no b. Three primitives' work (transpose, product, broadcast add) in one node, which
    matters because a small network's cost is mostly per-operation overhead."""

    holomorphic = True

    @staticmethod
    def batch(xs, dims):
        """A batch of inputs: their rows folded into one ``Affine``. A batch of weights: one
        product with the weights' rows stacked (an unbatched input), or a product per example
        (``MatMul`` over a stack). A batched bias is added after."""
        (x, w), (dx, dw) = xs[:2], dims[:2]
        b, db = (xs[2], dims[2]) if len(xs) > 2 else (None, None)
        if dw is None:
            inner = (x, w) if b is None or db is not None else (x, w, b)
            if dx is None:  # only the bias is batched
                y = apply(Affine, *inner)
                y = apply(BroadcastTo, y, shape=(b.shape[0], *y.shape))
            else:  # the batch and every example's rows as the rows of one product
                y = apply(Affine, apply(Reshape, x, shape=(-1, x.shape[-1])), *inner[1:])
                y = apply(Reshape, y, shape=(*x.shape[:-1], w.shape[0]))
            return y if b is None or db is None else y + _lined_up(b, y)
        B, out, n = w.shape
        if dx is None:  # x @ (all the weights' rows)ᵀ, then the batch axis first
            y = apply(Affine, x, apply(Reshape, w, shape=(B * out, n)))
            y = apply(Reshape, y, shape=(*x.shape[:-1], B, out))
            y = y.permute(x.ndim - 1, *range(x.ndim - 1), x.ndim)
        else:
            rows = apply(Reshape, x, shape=(B, -1, n))
            y = apply(MatMul, rows, apply(Transpose, w, axes=(0, 2, 1)))
            y = apply(Reshape, y, shape=(*x.shape[:-1], out))
        return y if b is None else y + (_lined_up(b, y) if db is not None else b)

    @staticmethod
    def forward(x, w, b=None):
        y = x @ w.T
        if b is not None:
            if b.dtype == y.dtype:
                y += b  # NOTE: into the fresh product, not a second array: the same bits
            else:
                y = y + b  # a wider bias widens the result (numpy's promotion)
        return y

    @staticmethod
    def vjp(g, y, x, w, b=None, *, xp):
        X, W = xp.value(x), xp.value(w)
        out = [
            g @ W if x.requires_grad else None,
            g.swapaxes(0, 1) @ X if w.requires_grad else None,  # (out, in), contiguous
        ]
        if b is not None:
            out.append(g.sum(axis=0) if b.requires_grad else None)
        return tuple(out)

    @staticmethod
    def jvp(ts, y, x, w, b=None):
        tx, tw = ts[0], ts[1]
        tb = ts[2] if len(ts) > 2 else None
        return add_fresh_tangents(
            None if tx is None else _tangents_times(tx, w.T),
            None if tw is None else x @ tw.transpose(0, 2, 1),
            # NOTE: broadcast over the rows, so the tangent has y's shape even when the bias is
            # the only input that carries one.
            None if tb is None else np.broadcast_to(tb[:, None, :], (tb.shape[0], *y.shape)),
        )
