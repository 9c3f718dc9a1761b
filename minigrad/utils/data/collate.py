"""Making one batch of a list of samples: ``default_collate``, and ``default_convert`` (arrays
to Tensors without batching), with PyTorch's rules for what each kind of sample becomes."""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence

import numpy as np

from ...errors import ShapeError
from ...functions import stack
from ...tensor import Tensor, constant

_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}; pass a collate_fn that handles it"
)


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _rebuilt(original, values):
    """``values`` (a dict for a mapping, a list for a sequence) in ``original``'s container
    type, as PyTorch rebuilds it: a mutable one is copied and filled (its other attributes
    kept), another is built from the values, or they stay a dict or list if it cannot be."""
    if isinstance(original, MutableMapping):
        clone = copy.copy(original)
        clone.update(values)
        return clone
    if isinstance(original, MutableSequence):
        clone = copy.copy(original)
        clone[:] = values
        return clone
    try:
        return type(original)(values)
    except TypeError:
        return values


def _stack(batch: list[Tensor]) -> Tensor:
    shapes = {t.shape for t in batch}
    if len(shapes) > 1:
        raise ShapeError(
            f"default_collate: the samples hold tensors of different shapes {sorted(shapes)}, "
            f"which cannot be stacked into one batch; make them equal (pad or crop), or pass a "
            f"collate_fn that batches them"
        )
    if any(t.requires_grad for t in batch):
        return stack(batch, 0)  # on the tape, as torch.stack
    return constant(np.stack([t.data for t in batch]))


def default_collate(batch: list):
    """One batch from a list of samples, each sample's structure kept (PyTorch's rules):
    Tensors and numpy arrays are stacked along a new first dimension; Python floats become a
    float64 Tensor, ints an int64 one and bools a bool one; numpy scalars a Tensor of their
    dtype; strings stay a list; dicts, lists and namedtuples are collated field by field
    (a tuple becomes a list, as in PyTorch).

    >>> ints, floats = default_collate([(1, 2.0), (3, 4.0)])
    >>> ints.tolist(), floats.tolist()
    ([1, 3], [2.0, 4.0])
    >>> default_collate([{"x": 1}, {"x": 2}])["x"].tolist()
    [1, 2]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray | np.generic) and not isinstance(elem, np.str_ | np.bytes_):
        if elem.dtype.char in "SaUO":  # strings and objects: nothing to stack
            raise TypeError(_COLLATE_ERROR.format(f"numpy arrays of dtype {elem.dtype}"))
        if isinstance(elem, np.generic):
            return constant(np.asarray(batch))
        return _stack([constant(np.asarray(b)) for b in batch])
    if isinstance(elem, float):
        return constant(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, bool):
        return constant(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return constant(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, Mapping):
        return _rebuilt(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise ShapeError(
                f"default_collate: each element in list of batch should be of equal size; got "
                f"sizes {[len(sample) for sample in batch]}"
            )
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        # a tuple becomes a list, as in PyTorch ("for backwards compatibility", it says)
        return fields if isinstance(elem, tuple) else _rebuilt(elem, fields)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """numpy arrays (and numpy numbers) inside ``data`` as Tensors, its structure kept; what a
    ``DataLoader`` with ``batch_size=None`` does to each sample (a tuple becomes a list, as in
    PyTorch)."""
    if isinstance(data, np.ndarray | np.generic) and not isinstance(data, np.str_ | np.bytes_):
        return data if data.dtype.char in "SaUO" else constant(np.asarray(data))
    if isinstance(data, Tensor | str | bytes):
        return data
    if isinstance(data, Mapping):
        return _rebuilt(data, {key: default_convert(value) for key, value in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence):
        return _rebuilt(data, [default_convert(d) for d in data])
    return data
