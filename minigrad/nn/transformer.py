"""Transformers: ``TransformerEncoderLayer``/``TransformerEncoder``, ``TransformerDecoderLayer``/
``TransformerDecoder`` and ``Transformer``, as PyTorch's (the same sub-layers under the same
names, so state dicts move both ways: ``layers.0.self_attn.in_proj_weight``, ...).

A layer is attention and a two-layer feed-forward network, each with dropout, a residual
connection and a LayerNorm: after the sum (``norm_first=False``, the original "post-norm"
transformer) or on the input of the branch (``norm_first=True``, "pre-norm", as GPT-2).
"""

from __future__ import annotations

import copy

from ..creation import count, floating_dtype, made
from ..errors import OpError, ShapeError
from ..tensor import Tensor
from . import functional as F
from . import init
from .attention import causal_mask
from .checks import check_size
from .containers import ModuleList
from .dropout import Dropout
from .layers import Linear
from .module import Module
from .multihead_attention import MultiheadAttention
from .normalization import LayerNorm

__all__ = [
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]  # fmt: skip


def _activation(who: str, activation):
    """PyTorch's ``activation`` argument: "relu", "gelu" or a callable (a function or module)."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise OpError(f"{who}: activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise OpError(f"{who}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


class _Layer(Module):
    """What the encoder and decoder layers share: the feed-forward block and its options."""

    def _feed_forward_parts(self, d_model, dim_feedforward, dropout, activation, layer_norm_eps,
                            norm_first, bias, dtype, generator, norms: int):  # fmt: skip
        who = type(self).__name__
        d_model = check_size(who, "d_model", d_model)
        options = dict(bias=bias, dtype=dtype, generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, **options)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, **options)
        self.norm_first = norm_first
        for i in range(1, norms + 1):
            setattr(
                self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            )
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(who, activation)

    def _ff_block(self, x: Tensor, dropout: Dropout) -> Tensor:
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _check(self, name: str, x) -> None:
        d_model = self.linear1.in_features
        if getattr(x, "ndim", 0) not in (2, 3) or x.shape[-1] != d_model:
            raise ShapeError(
                f"{type(self).__name__}(d_model={d_model}): {name} of shape "
                f"{getattr(x, 'shape', None)}; expected (S, N, {d_model}), (N, S, {d_model}) "
                f"with batch_first=True, or (S, {d_model}) for one sequence"
            )


class TransformerEncoderLayer(_Layer):
    """Self-attention, then a feed-forward network (``linear2(dropout(activation(linear1(x))))``),
    each added back to its input and normalised, as PyTorch's.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: ``src`` is
    (S, N, d_model), or (N, S, d_model) with ``batch_first=True``, or (S, d_model); the masks
    are ``MultiheadAttention``'s (bool True masks out); ``is_causal`` is a hint that
    ``src_mask`` is the causal mask.

    >>> import minigrad as mg
    >>> layer = TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
    >>> layer(mg.randn(2, 5, 16)).shape
    (2, 5, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype,
                                            generator=generator)  # fmt: skip
        self._feed_forward_parts(d_model, dim_feedforward, dropout, activation, layer_norm_eps,
                                 norm_first, bias, dtype, generator, norms=2)  # fmt: skip

    def forward(self, src, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:  # fmt: skip
        self._check("src", src)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]  # fmt: skip
        return self.dropout1(x)


class TransformerDecoderLayer(_Layer):
    """Self-attention over the target, attention from the target to ``memory`` (the encoder's
    output), then the feed-forward network, each added back and normalised, as PyTorch's.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__()
        options = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype,
                       generator=generator)  # fmt: skip
        self.self_attn = MultiheadAttention(d_model, nhead, **options)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **options)
        self._feed_forward_parts(d_model, dim_feedforward, dropout, activation, layer_norm_eps,
                                 norm_first, bias, dtype, generator, norms=3)  # fmt: skip

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:  # fmt: skip
        self._check("tgt", tgt)
        self._check("memory", memory)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)  # fmt: skip
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))  # fmt: skip
        return self.norm3(x + self._ff_block(x, self.dropout3))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]  # fmt: skip
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal) -> Tensor:
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]  # fmt: skip
        return self.dropout2(x)


def _clones(who: str, layer: Module, num_layers: int) -> ModuleList:
    """``num_layers`` independent deep copies of ``layer`` (PyTorch's ``_get_clones``)."""
    num_layers = check_size(who, "num_layers", num_layers)
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


def _is_causal(mask, is_causal: bool | None, size: int) -> bool:
    """PyTorch's reading of ``is_causal=None``: True when ``mask`` is exactly the causal mask."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    values = getattr(mask, "data", mask)
    if getattr(values, "shape", None) != (size, size):
        return False
    if values.dtype == bool:  # MultiheadAttention's convention: True masks out
        return bool((values == (causal_mask(size) != 0)).all())
    return bool((values == causal_mask(size, dtype=values.dtype)).all())


def _sequence_length(x, batch_first: bool) -> int:
    return x.shape[0] if x.ndim == 2 else x.shape[1 if batch_first else 0]


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ...),
    then ``norm`` if given, as PyTorch's. ``forward(src, mask=None, src_key_padding_mask=None,
    is_causal=None)``: ``is_causal=None`` detects a causal ``mask``.

    ``enable_nested_tensor`` and ``mask_check`` (PyTorch's inference fast path) are accepted
    and change nothing.
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):  # fmt: skip
        super().__init__()
        self.layers = _clones("TransformerEncoder", encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None,
                is_causal: bool | None = None) -> Tensor:  # fmt: skip
        output = src
        if self.layers:
            batch_first = self.layers[0].self_attn.batch_first
            is_causal = _is_causal(mask, is_causal, _sequence_length(src, batch_first))
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=is_causal)  # fmt: skip
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, then ``norm`` if given, as
    PyTorch's. ``forward(tgt, memory, tgt_mask=None, memory_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=None,
    memory_is_causal=False)``."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _clones("TransformerDecoder", decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:  # fmt: skip
        output = tgt
        if self.layers:
            batch_first = self.layers[0].self_attn.batch_first
            tgt_is_causal = _is_causal(tgt_mask, tgt_is_causal, _sequence_length(tgt, batch_first))
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder transformer of "Attention Is All You Need", as PyTorch's
    ``nn.Transformer``: ``encoder`` (a ``TransformerEncoder`` with a final LayerNorm) and
    ``decoder`` (a ``TransformerDecoder`` with one), every weight matrix Xavier-uniform.

    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False)`` returns the decoder's
    output, shaped as ``tgt``.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__()
        options = dict(
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            dtype=dtype,
            generator=generator,
        )
        norm = dict(eps=layer_norm_eps, bias=bias, dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **options)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, LayerNorm(d_model, **norm))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **options)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, LayerNorm(d_model, **norm))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, generator=generator)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[batch] != tgt.shape[batch]):
            raise ShapeError(
                f"Transformer: the batch number of src {src.shape} and tgt {tgt.shape} must be "
                f"equal (dim {batch}{' with batch_first=True' if self.batch_first else ''})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(
                f"Transformer: the feature number of src {src.shape} and tgt {tgt.shape} must "
                f"be equal to d_model={self.d_model}"
            )
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)  # fmt: skip
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The float causal mask (sz, sz): 0 on and below the diagonal, -inf above, as
        PyTorch's (in the default dtype unless ``dtype`` is given)."""
        who = "Transformer.generate_square_subsequent_mask"
        dtype = floating_dtype(who, dtype, "the mask holds 0 and -inf")
        return made(who, causal_mask(count(who, "sz", sz), dtype=dtype), device, False)
