"""Short one-line names of layers, for drawings and summaries: ``Conv2d(1→16, 3×3)``,
``Linear(784→128)``, ``LSTM(32→64, 2 layers)``, ``MultiheadAttention(32, 4 heads)``.

A label is the class name and the sizes that tell one layer from another of its kind (not
settings that change no shape, such as padding, eps or ``inplace``). A module this file does not
know is its class name with its ``extra_repr`` (less ``inplace``). A label longer than
``LONGEST`` characters drops its last parts (``Conv2d(16→32, 3×3, stride 2×1, …)``).
"""

from __future__ import annotations

LONGEST = 40  # characters of a label at most

# Settings of the generic form that change nothing a reader of a drawing looks for.
_DEFAULT_SETTINGS = {"approximate='none'", "inplace=True", "inplace=False"}


def layer_label(module) -> str:
    """``module`` named in at most ``LONGEST`` characters: its class and the sizes that tell it
    apart, e.g. ``Conv2d(1→16, 3×3)``, ``ConvTranspose2d(16→1, 3×3, stride 2)``,
    ``LSTM(32→64, 2 layers, bidirectional)``, ``Embedding(100, 32)``, ``MaxPool2d(2×2)``,
    ``Dropout(p=0.1)``, ``ReLU``, ``Sequential``."""
    kind = type(module).__name__
    parts = _parts(module)
    if parts is None:
        extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
        parts = [p for p in _split(extra) if p not in _DEFAULT_SETTINGS]
    return _fit(kind, parts)


def _parts(module) -> list[str] | None:
    """The parts shown for the layers people draw most, or None for the generic form."""
    kind = type(module).__name__
    if _has(module, "in_channels", "out_channels", "kernel_size"):  # Conv*, ConvTranspose*
        parts = [f"{module.in_channels}→{module.out_channels}", _grid(module.kernel_size)]
        for name, default in (("stride", 1), ("dilation", 1)):
            if _values(getattr(module, name, default)) != {default}:
                parts.append(f"{name} {_one_or_grid(getattr(module, name))}")
        if getattr(module, "groups", 1) != 1:
            parts.append(f"groups {module.groups}")
        return parts
    if _has(module, "in_features", "out_features"):  # Linear
        return [f"{module.in_features}→{module.out_features}"]
    if _has(module, "input_size", "hidden_size"):  # RNN, LSTM, GRU, cells
        parts = [f"{module.input_size}→{module.hidden_size}"]
        if getattr(module, "num_layers", 1) > 1:
            parts.append(f"{module.num_layers} layers")
        if getattr(module, "bidirectional", False):
            parts.append("bidirectional")
        if getattr(module, "proj_size", 0):
            parts.append(f"proj {module.proj_size}")
        if getattr(module, "nonlinearity", "tanh") != "tanh":
            parts.append(module.nonlinearity)
        return parts
    if _has(module, "num_embeddings", "embedding_dim"):  # Embedding
        return [str(module.num_embeddings), str(module.embedding_dim)]
    if _has(module, "embed_dim", "num_heads"):  # MultiheadAttention
        return [str(module.embed_dim), f"{module.num_heads} heads"]
    attention = getattr(module, "self_attn", None)  # TransformerEncoderLayer, ...DecoderLayer
    if _has(attention, "embed_dim", "num_heads"):
        return [str(attention.embed_dim), f"{attention.num_heads} heads"]
    if _has(module, "d_model", "nhead"):  # Transformer
        return [str(module.d_model), f"{module.nhead} heads"]
    if kind in ("TransformerEncoder", "TransformerDecoder") and _has(module, "layers"):
        return [f"{len(module.layers)} layers"]  # the layers' own rows and nodes tell their sizes
    if kind.startswith(("BatchNorm", "InstanceNorm")) and _has(module, "num_features"):
        return [str(module.num_features)]
    if _has(module, "normalized_shape"):  # LayerNorm
        return [", ".join(str(n) for n in module.normalized_shape)]
    if _has(module, "num_groups", "num_channels"):  # GroupNorm
        return [str(module.num_channels), f"{module.num_groups} groups"]
    if kind.startswith("Adaptive") and _has(module, "output_size"):  # adaptive pooling
        return ["→" + _grid(module.output_size, _dims(kind))]
    if kind.endswith(("Pool1d", "Pool2d")) and _has(module, "kernel_size", "stride"):
        dims = _dims(kind)
        parts = [_grid(module.kernel_size, dims)]
        if _values(module.stride) != _values(module.kernel_size):
            parts.append(f"stride {_one_or_grid(module.stride)}")
        return parts
    if kind == "Flatten":
        return [] if (module.start_dim, module.end_dim) == (1, -1) else [
            f"{module.start_dim}, {module.end_dim}"
        ]  # fmt: skip
    if kind == "Unflatten" and _has(module, "dim", "unflattened_size"):
        return [str(module.dim), str(tuple(module.unflattened_size))]
    if kind.startswith("Upsampl") and _has(module, "scale_factor", "size", "mode"):
        scale = module.scale_factor
        if scale is None:
            return [f"→{_grid(module.size)}", module.mode]
        return ["×" + _grid(tuple(f"{s:g}" for s in _as_tuple(scale))), module.mode]
    if kind in ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"):
        return []
    return None


# ----- formatting --------------------------------------------------------------------------------


def _has(module, *names: str) -> bool:
    """Whether ``module`` has every attribute in ``names`` (layers are recognised by what they
    hold, so a user's block with ``in_channels``, ``out_channels`` and ``kernel_size`` is
    labelled as a convolution is)."""
    return module is not None and all(hasattr(module, name) for name in names)


def _dims(kind: str) -> int:
    """The number of spatial dims a class name ends with (``MaxPool2d``: 2)."""
    return 1 if kind.endswith("1d") else 3 if kind.endswith("3d") else 2


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _one_or_grid(value) -> str:
    """A stride or dilation: ``2`` when it is the same along every dim, else ``2×1``."""
    return str(next(iter(_values(value)))) if len(_values(value)) == 1 else _grid(value)


def _values(value) -> set:
    """The distinct values of an int or a tuple of ints."""
    return set(_as_tuple(value))


def _grid(value, dims: int | None = None) -> str:
    """A size per spatial dim as ``3×3`` (an int stands for every dim, as PyTorch's arguments);
    ``None`` (an adaptive pool's "keep this dim") as ``·``."""
    sizes = _as_tuple(value) if isinstance(value, tuple | list) else (value,) * (dims or 1)
    return "×".join("·" if s is None else str(s) for s in sizes)


def _split(text: str) -> list[str]:
    """``extra_repr`` text cut at its top-level commas (not those inside brackets)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    return parts + [last] if last else parts


def _fit(kind: str, parts: list[str]) -> str:
    """``kind(part, part, ...)`` in at most LONGEST characters: the last parts give way to
    ``…`` first, then the text itself is cut."""
    if not parts:
        return kind if len(kind) <= LONGEST else kind[: LONGEST - 1] + "…"
    for keep in range(len(parts), 0, -1):
        shown = parts[:keep] + ([] if keep == len(parts) else ["…"])
        text = f"{kind}({', '.join(shown)})"
        if len(text) <= LONGEST:
            return text
    return f"{kind}(…)" if len(kind) <= LONGEST - 3 else kind[: LONGEST - 1] + "…"
