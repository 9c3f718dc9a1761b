"""``MultiheadAttention``: PyTorch's layer, with its parameter names, layouts and masks.

The parameters are PyTorch's, so state dicts move both ways: ``in_proj_weight`` (3E, E) holds
the query, key and value projections stacked (or ``q_proj_weight``, ``k_proj_weight``,
``v_proj_weight`` when ``kdim``/``vdim`` differ from ``embed_dim``), ``in_proj_bias`` (3E,),
and ``out_proj`` a Linear(E, E). Its boolean masks are True where a key is masked OUT (the
opposite of ``scaled_dot_product_attention``'s).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import OpError, ShapeError
from ..functions import as_tensor
from ..tensor import Tensor
from . import functional as F
from . import init
from .attention import additive_mask, attend, causal_mask
from .checks import check_size, parameter_dtype, same_dtype
from .dropout import check_probability
from .layers import Linear
from .module import Module, Parameter

_NEED_MASK = (
    "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
    "`generate_square_subsequent_mask` to create this mask"
)


def _refuse(who: str, name: str, what: str) -> None:
    raise OpError(
        f"{who}: {name}=True ({what}) is not supported by minigrad; build the layer with "
        f"{name}=False (PyTorch's default)"
    )


def _add(a, b):
    """The sum of two additive masks (arrays, or Tensors when one is learned), or the one given."""
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return as_tensor(a) + as_tensor(b)
    return a + b


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads of ``embed_dim // num_heads`` features each, as
    PyTorch's ``nn.MultiheadAttention``.

    ``forward(query, key, value)`` takes (L, N, E), (S, N, kdim), (S, N, vdim) — or (N, L, E)
    ... with ``batch_first=True``, or one sequence (L, E) ... — and returns ``(attn_output,
    attn_weights)``: the output (L, N, E) (or batch first, or (L, E)), and with ``need_weights``
    the attention weights (N, L, S) averaged over the heads (``average_attn_weights=False``:
    per head, (N, num_heads, L, S)), else None.

    - ``key_padding_mask`` (N, S): a bool mask is True where a key is padding (masked out); a
      float mask is added to the scores.
    - ``attn_mask`` (L, S) or (N * num_heads, L, S): bool True masks out, float is added.
    - ``is_causal``: a hint that ``attn_mask`` is the causal mask, as in PyTorch (it needs the
      mask: ``nn.Transformer.generate_square_subsequent_mask(L)``).
    - ``dropout`` applies to the attention weights, in training mode only.

    Initialisation as PyTorch's: Xavier-uniform projections, zero biases. ``add_bias_kv`` and
    ``add_zero_attn`` are refused.

    >>> import minigrad as mg
    >>> attention = MultiheadAttention(8, num_heads=2, batch_first=True)
    >>> x = mg.randn(3, 5, 8)  # 3 sequences of 5 tokens
    >>> out, weights = attention(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, dtype=None,
                 generator=None):  # fmt: skip
        super().__init__()
        who = "MultiheadAttention"
        dtype = parameter_dtype(who, dtype)
        E = self.embed_dim = check_size(who, "embed_dim", embed_dim)
        self.kdim = E if kdim is None else check_size(who, "kdim", kdim)
        self.vdim = E if vdim is None else check_size(who, "vdim", vdim)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.num_heads = check_size(who, "num_heads", num_heads)
        if num_heads < 1 or E % num_heads:
            raise ShapeError(
                f"{who}: embed_dim {E} is not divisible by num_heads {num_heads}; each head "
                f"gets embed_dim // num_heads features, so choose num_heads among the divisors "
                f"of {E}"
            )
        self.dropout = check_probability(dropout, who)
        self.batch_first = batch_first
        self.head_dim = E // num_heads
        if add_bias_kv:
            _refuse(who, "add_bias_kv", "learned bias_k and bias_v appended to the keys and values")
        if add_zero_attn:
            _refuse(who, "add_zero_attn", "a zero key and value appended to each sequence")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * E, E), dtype=dtype))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.q_proj_weight = Parameter(np.empty((E, E), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((E, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((E, self.vdim), dtype=dtype))
            self.in_proj_weight = None
        self.in_proj_bias = Parameter(np.zeros(3 * E, dtype=dtype)) if bias else None
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype, generator=generator)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                       self.v_proj_weight):  # fmt: skip
            if weight is not None:
                init.xavier_uniform_(weight, generator=generator)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if not self._qkv_same_embed_dim:
            text += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.in_proj_bias is None:
            text += ", bias=False"
        return text + (", batch_first=True" if self.batch_first else "")

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        who = f"MultiheadAttention({self.extra_repr()})"
        weight = self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight
        self_attention = query is key and key is value
        q_in = same_dtype(who, query, weight)[0]
        k_in = q_in if key is query else same_dtype(who, key, weight)[0]
        v_in = k_in if value is key else same_dtype(who, value, weight)[0]
        batched = self._check_shapes(who, q_in, k_in, v_in, key_padding_mask, attn_mask)
        q_in, k_in, v_in = (self._batch_first(x, batched) for x in (q_in, k_in, v_in))
        N, L, S = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        if is_causal and attn_mask is None:
            raise OpError(f"{who}: {_NEED_MASK}")
        bias = self._key_padding(who, key_padding_mask, q_in.dtype, N, S, batched)
        if is_causal and bias is None and not need_weights:
            bias = causal_mask(L, S, q_in.dtype)  # PyTorch takes the hint (and not the mask)
        else:
            bias = _add(self._attention_mask(who, attn_mask, q_in.dtype, N, L, S), bias)
        q, k, v = self._project(q_in, k_in, v_in, self_attention, key is value)
        dropout_p = self.dropout if self.training else 0.0
        out, weights = attend(q, k, v, bias, 1.0 / math.sqrt(self.head_dim), dropout_p,
                              safe=not need_weights)  # fmt: skip
        out = F.linear(out.transpose(1, 2).reshape(N, L, self.embed_dim), self.out_proj.weight,
                       self.out_proj.bias)  # fmt: skip
        if not batched:
            out = out[0]
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights if batched else weights[0]

    # ----- the steps of forward ------------------------------------------------------------------

    def _check_shapes(self, who, q, k, v, key_padding_mask, attn_mask) -> bool:
        """Whether the inputs are batched (3-D) or one sequence (2-D), after PyTorch's checks."""
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ShapeError(
                f"{who}: query, key and value must all be 3-D (batched) or all 2-D (one "
                f"sequence), got shapes {q.shape}, {k.shape} and {v.shape}"
            )
        batched = q.ndim == 3
        for name, x, size in (("query", q, self.embed_dim), ("key", k, self.kdim),
                              ("value", v, self.vdim)):  # fmt: skip
            if x.shape[-1] != size:
                raise ShapeError(
                    f"{who}: {name} of shape {x.shape} has {x.shape[-1]} features in its last "
                    f"dim, expected {size}"
                )
        batch = 0 if (self.batch_first or not batched) else 1
        if k.shape[:-1] != v.shape[:-1] or (batched and q.shape[batch] != k.shape[batch]):
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ShapeError(
                f"{who}: query {q.shape}, key {k.shape} and value {v.shape} do not fit: key and "
                f"value need the same sequence length and batch, query the same batch "
                f"(layout {layout if batched else '(L, E)'})"
            )
        mask_ndim = getattr(key_padding_mask, "ndim", np.ndim(key_padding_mask))
        if key_padding_mask is not None and mask_ndim != (2 if batched else 1):
            raise ShapeError(
                f"{who}: key_padding_mask must be {'(N, S)' if batched else '(S,)'} for "
                f"{'batched' if batched else 'unbatched'} inputs, got a {mask_ndim}-D mask"
            )
        return batched

    def _batch_first(self, x: Tensor, batched: bool) -> Tensor:
        if not batched:
            return x.unsqueeze(0)
        return x if self.batch_first else x.transpose(0, 1)

    def _key_padding(self, who, mask, dtype, N: int, S: int, batched: bool):
        mask = additive_mask(who, "key_padding_mask", mask, dtype, masked_when=True)
        if mask is None:
            return None
        if tuple(mask.shape) != ((N, S) if batched else (S,)):
            expected = f"(N, S) = {(N, S)}" if batched else f"(S,) = {(S,)}"
            raise ShapeError(
                f"{who}: key_padding_mask of shape {tuple(mask.shape)}, expected {expected}: one "
                f"row per sequence, True (or -inf) where a key is padding"
            )
        return mask.reshape(N, 1, 1, S)

    def _attention_mask(self, who, mask, dtype, N: int, L: int, S: int):
        mask = additive_mask(who, "attn_mask", mask, dtype, masked_when=True)
        if mask is None:
            return None
        H = self.num_heads
        if mask.ndim == 2 and tuple(mask.shape) == (L, S):
            return mask.reshape(1, 1, L, S)
        if mask.ndim == 3 and tuple(mask.shape) == (N * H, L, S):
            return mask.reshape(N, H, L, S)
        raise ShapeError(
            f"{who}: attn_mask of shape {tuple(mask.shape)}, expected (L, S) = {(L, S)} or "
            f"(N * num_heads, L, S) = {(N * H, L, S)} (target length L, source length S)"
        )

    def _project(self, query, key, value, self_attention: bool, shared_kv: bool):
        """The query, key and value projections, split into heads: (N, num_heads, T, head_dim)
        each. Self-attention is one product with ``in_proj_weight``; shared keys and values
        (cross-attention) two."""
        E, b = self.embed_dim, self.in_proj_bias
        if not self._qkv_same_embed_dim:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
            inputs = (query, key, value)
            return tuple(
                self._heads(F.linear(x, w, None if b is None else b[i * E : (i + 1) * E]))
                for i, (x, w) in enumerate(zip(inputs, weights))
            )
        W = self.in_proj_weight
        if self_attention:
            return self._stacked_heads(F.linear(query, W, b), 3)
        q = self._heads(F.linear(query, W[:E], None if b is None else b[:E]))
        if shared_kv:
            k, v = self._stacked_heads(F.linear(key, W[E:], None if b is None else b[E:]), 2)
            return q, k, v
        k = self._heads(F.linear(key, W[E : 2 * E], None if b is None else b[E : 2 * E]))
        v = self._heads(F.linear(value, W[2 * E :], None if b is None else b[2 * E :]))
        return q, k, v

    def _heads(self, x: Tensor) -> Tensor:
        """(N, T, E) -> (N, num_heads, T, head_dim)."""
        return x.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def _stacked_heads(self, x: Tensor, count: int) -> tuple[Tensor, ...]:
        """(N, T, count * E) -> ``count`` tensors (N, num_heads, T, head_dim), with one reshape
        and one permutation for all of them."""
        N, T = x.shape[0], x.shape[1]
        split = x.reshape(N, T, count, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return tuple(split[i] for i in range(count))
