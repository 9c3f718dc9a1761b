"""Attention: ``scaled_dot_product_attention`` and ``MultiheadAttention``, as PyTorch's.

Composites of minigrad's operations (products, a softmax, reshapes), so reverse, forward and
higher derivatives pass through attention without rules of its own: a Hessian-vector product
through a ``MultiheadAttention`` layer is forward-over-reverse like any other.

Boolean masks mean what they mean in PyTorch, and the two conventions are opposite:
``scaled_dot_product_attention``'s ``attn_mask`` is True where a query MAY attend to a key;
``MultiheadAttention``'s ``attn_mask`` and ``key_padding_mask`` are True where it may NOT (the
key is masked out, e.g. padding). A float mask is added to the attention scores in both.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..batching import values_of
from ..errors import DTypeError, OpError, ShapeError
from ..functions import as_tensor, softmax, where
from ..tensor import Tensor
from .dropout import check_probability, dropout

__all__ = ["scaled_dot_product_attention"]

SDPA = "scaled_dot_product_attention"

# ----- masks -------------------------------------------------------------------------------------


def additive_mask(who: str, name: str, mask, dtype, masked_when: bool):
    """A mask as what is added to the attention scores: an ndarray of ``dtype`` (0 or -inf)
    for a boolean mask whose ``masked_when`` value masks a key out, the values themselves for
    a float mask (a Tensor that requires grad stays one, so a learned bias is trained)."""
    if mask is None:
        return None
    if isinstance(mask, Tensor) and mask.requires_grad:
        if mask.dtype != dtype:
            raise DTypeError(
                f"{who}: {name} is {mask.dtype} and requires grad, the query is {dtype}; cast "
                f"the mask to the query's dtype"
            )
        return mask
    values = values_of(mask, "an attention mask")
    if values.dtype == bool:
        hidden = values if masked_when else ~values
        return np.where(hidden, np.array(-np.inf, dtype), np.array(0, dtype))
    if values.dtype.kind != "f":
        raise DTypeError(
            f"{who}: only bool and floating types of {name} are supported, got {values.dtype} "
            f"(as in PyTorch); compare first for a bool mask (mask != 0)"
        )
    return values.astype(dtype, copy=False)


def causal_mask(size: int, source_size: int | None = None, dtype=np.float32) -> np.ndarray:
    """The additive causal mask: 0 on and below the diagonal, -inf above it (query ``i`` sees
    keys ``0..i``), of shape (size, source_size), as PyTorch's
    ``Transformer.generate_square_subsequent_mask``."""
    source_size = size if source_size is None else source_size
    return np.triu(np.full((size, source_size), -np.inf, dtype=dtype), 1)


def _dead_rows(bias) -> np.ndarray | None:
    """Where a query may attend to no key at all (its mask row is all -inf), or None when every
    query sees one: these rows get attention weights 0 (PyTorch's "safe softmax") instead of
    0/0."""
    values = bias.data if isinstance(bias, Tensor) else bias
    dead = np.all(np.isneginf(values), axis=-1, keepdims=True)
    return dead if dead.any() else None


# ----- the attention itself ----------------------------------------------------------------------


def attend(q: Tensor, k: Tensor, v: Tensor, bias, scale: float, dropout_p: float,
           generator=None, safe: bool = True) -> tuple[Tensor, Tensor]:  # fmt: skip
    """``softmax(q @ k^T * scale + bias) @ v`` and the attention weights, for q (..., L, E),
    k (..., S, E), v (..., S, Ev) and an additive ``bias`` broadcasting to (..., L, S).

    ``safe``: a query whose keys are all masked out gets weights 0 and output 0 (PyTorch's
    scaled_dot_product_attention); otherwise its weights are nan, as in PyTorch's
    MultiheadAttention with ``need_weights=True``.
    """
    scores = (q * scale) @ k.swapaxes(-1, -2)
    dead = None
    if bias is not None:
        if safe:
            dead = _dead_rows(bias)
            if dead is not None:
                bias = (
                    where(dead, 0.0, bias) if isinstance(bias, Tensor) else np.where(dead, 0, bias)
                )
        scores = scores + bias
    weights = softmax(scores, dim=-1)  # a row of -inf only: nan, as PyTorch's
    if dead is not None:
        weights = weights * (~dead).astype(weights.dtype)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, generator=generator)
    return weights @ v, weights


def _check_qkv(q: Tensor, k: Tensor, v: Tensor) -> None:
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise DTypeError(
            f"{SDPA}: expected query, key and value to have the same dtype, got {q.dtype}, "
            f"{k.dtype} and {v.dtype}"
        )
    if q.dtype.kind != "f":
        raise DTypeError(f"{SDPA}: needs floating-point query, key and value, got {q.dtype}")
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ShapeError(
            f"{SDPA}: query, key and value need at least 2 dims (..., L, E), got shapes "
            f"{q.shape}, {k.shape} and {v.shape}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"{SDPA}: query {q.shape}, key {k.shape} and value {v.shape} do not fit: query and "
            f"key need the same last dim E, key and value the same sequence length S "
            f"(query (..., L, E), key (..., S, E), value (..., S, Ev))"
        )


def _repeat_heads(q: Tensor, x: Tensor, name: str) -> Tensor:
    """Grouped-query attention: each of ``x``'s heads (dim -3) serves several of ``q``'s."""
    if q.ndim < 3 or x.ndim < 3 or q.shape[-3] % x.shape[-3]:
        raise ShapeError(
            f"{SDPA}: enable_gqa=True needs the number of query heads (dim -3, got shape "
            f"{q.shape}) to be a multiple of the {name}'s ({x.shape})"
        )
    return x.repeat_interleave(q.shape[-3] // x.shape[-3], dim=-3)


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
    scale: float | None = None, enable_gqa: bool = False, *, generator=None,
) -> Tensor:  # fmt: skip
    """``softmax(query @ key^T * scale + mask) @ value``, as PyTorch's: query (..., L, E), key
    (..., S, E), value (..., S, Ev) give (..., L, Ev); the leading dims broadcast.

    - ``scale``: by default ``1 / sqrt(E)``.
    - ``attn_mask`` broadcasting to (..., L, S): a bool mask is True where a query MAY attend to
      a key (the opposite of ``MultiheadAttention``'s masks); a float mask is added to the
      scores. A query that may attend to no key gets output 0 (as PyTorch's).
    - ``is_causal``: query ``i`` attends to keys ``0..i`` (the mask ``tril(ones(L, S))``); it
      is an error together with ``attn_mask``.
    - ``dropout_p``: dropout on the attention weights, always applied when above 0 (as in
      PyTorch: pass ``dropout_p=p if self.training else 0.0``), drawn from minigrad's default
      generator or ``generator``.
    - ``enable_gqa``: key and value may have fewer heads (dim -3) than query, each serving
      ``query heads / key heads`` of them.

    >>> import minigrad as mg
    >>> q = k = v = mg.ones((1, 2, 3, 4))  # (batch, heads, sequence, features)
    >>> scaled_dot_product_attention(q, k, v, is_causal=True).shape
    (1, 2, 3, 4)
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    _check_qkv(q, k, v)
    dropout_p = check_probability(dropout_p, SDPA)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    elif not isinstance(scale, numbers.Real) or isinstance(scale, bool):
        raise OpError(f"{SDPA}: scale must be a number (or None for 1/sqrt(E)), got {scale!r}")
    L, S = q.shape[-2], k.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise OpError(
                f"{SDPA}: explicit attn_mask should not be set when is_causal=True (as in "
                f"PyTorch); give one of them, or fold the causal mask into attn_mask"
            )
        bias = causal_mask(L, S, q.dtype)
    else:
        bias = additive_mask(SDPA, "attn_mask", attn_mask, q.dtype, masked_when=False)
    if enable_gqa:
        k, v = _repeat_heads(q, k, "key"), _repeat_heads(q, v, "value")
    batch = _broadcast("query and key", q.shape[:-2], k.shape[:-2], q, k)
    _broadcast("key and value", k.shape[:-2], v.shape[:-2], k, v)
    if bias is not None and _broadcast("", bias.shape, batch + (L, S)) != batch + (L, S):
        raise ShapeError(
            f"{SDPA}: attn_mask of shape {tuple(bias.shape)} does not broadcast to the "
            f"attention scores' shape {batch + (L, S)} (..., L, S) of query {q.shape} and key "
            f"{k.shape}"
        )
    return attend(q, k, v, bias, scale, dropout_p, generator)[0]


def _broadcast(what: str, a: tuple, b: tuple, x=None, y=None) -> tuple | None:
    """The broadcast of shapes ``a`` and ``b``: a ShapeError naming ``what`` (the batch dims of
    ``x`` and ``y``) when they do not broadcast, or None when ``what`` is empty."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        if not what:
            return None
        raise ShapeError(
            f"{SDPA}: the batch dims (all but the last two) of {what} must broadcast, got "
            f"shapes {x.shape} and {y.shape}"
        ) from None
