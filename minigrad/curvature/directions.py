"""Directions in parameter space for loss landscapes: random filter-normalised ones (Li et al.
2018, "Visualizing the Loss Landscape of Neural Nets"), given ones, and the principal
directions of an optimisation trajectory (``trajectory_directions``).

A direction is a list of float64 arrays in the parameters' shapes; flat, it is those arrays
flattened and concatenated in order (``FlatLayout``), of length ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..arguments import FlatLayout
from ..tensor import Tensor
from .loss_operator import CurvatureError, check

__all__ = ["TrajectoryDirections", "random_directions", "trajectory_directions"]

KINDS = ("filter", "random")


def _array(value) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)


def filter_normalize(direction: np.ndarray, weight: np.ndarray, ignore_1d: bool) -> np.ndarray:
    """Rescale each filter of ``direction`` (its slices along axis 0: a row of a Linear weight,
    an output channel of a Conv weight) to the norm of the same filter in ``weight``. A 0-D or
    1-D parameter (a bias, a norm's weight) is zeroed when ``ignore_1d``, else rescaled as one
    filter."""
    if direction.ndim <= 1:
        if ignore_1d:
            return np.zeros_like(direction)
        return direction * (np.linalg.norm(weight) / np.linalg.norm(direction))
    axes = tuple(range(1, direction.ndim))
    d_norms = np.sqrt((direction**2).sum(axis=axes, keepdims=True))
    w_norms = np.sqrt((weight**2).sum(axis=axes, keepdims=True))
    return direction * (w_norms / d_norms)


def random_directions(weights: Sequence[np.ndarray], count: int, kind: str, seed,
                      ignore_1d: bool) -> list[list[np.ndarray]]:  # fmt: skip
    """``count`` Gaussian directions in the shapes of ``weights``, drawn parameter by parameter
    from ``np.random.default_rng(seed)``; ``kind="filter"`` normalises them filter-wise."""
    rng = np.random.default_rng(seed)
    directions = []
    for _ in range(count):
        direction = [rng.standard_normal(np.shape(w)) for w in weights]
        if kind == "filter":
            direction = [filter_normalize(d, w, ignore_1d)
                         for d, w in zip(direction, weights)]  # fmt: skip
        directions.append(direction)
    return directions


def as_flat(fname: str, what: str, value, layout: FlatLayout) -> np.ndarray:
    """One direction or set of weights as a flat float64 vector: a flat vector of length ``n``
    or a list of arrays in the parameters' shapes."""
    if isinstance(value, (list, tuple)):
        check(
            len(value) == len(layout.shapes),
            f"{fname}: {what} has {len(value)} arrays but the model has {len(layout.shapes)} "
            f"parameters; give one array per parameter (in the order of model.parameters()) "
            f"or one flat vector of length {layout.n}",
        )
        arrays = [_array(v) for v in value]
        for i, (array, shape) in enumerate(zip(arrays, layout.shapes)):
            check(
                array.shape == shape,
                f"{fname}: {what}[{i}] has shape {array.shape}, but parameter {i} has shape "
                f"{shape}; give arrays in the parameters' shapes, in order",
            )
        return layout.join(arrays) if arrays else np.zeros(0)
    flat = _array(value)
    check(
        flat.shape == (layout.n,),
        f"{fname}: {what} has shape {flat.shape}; a flat vector over the parameters has shape "
        f"({layout.n},) (or give a list of arrays in the parameters' shapes)",
    )
    return flat


def given_directions(fname: str, directions, layout: FlatLayout) -> np.ndarray:
    """Given directions (a sequence of one or two, each flat or a list of arrays; or a
    ``(k, n)`` array) as a ``(k, n)`` float64 array."""
    if isinstance(directions, TrajectoryDirections):
        directions = directions.vectors
    if isinstance(directions, (np.ndarray, Tensor)) and _array(directions).ndim == 2:
        directions = list(_array(directions))
    check(
        isinstance(directions, (list, tuple)) and len(directions) in (1, 2),
        f"{fname}: directions must be 'filter', 'random', or a list of one or two directions "
        f"(each a flat vector of length {layout.n} or a list of arrays in the parameters' "
        f"shapes); got {type(directions).__name__}"
        + (f" of length {len(directions)}" if isinstance(directions, (list, tuple)) else ""),
    )
    flat = np.stack([as_flat(fname, f"directions[{i}]", d, layout)
                     for i, d in enumerate(directions)])  # fmt: skip
    for i, row in enumerate(flat):
        check(
            np.all(np.isfinite(row)) and np.any(row != 0),
            f"{fname}: directions[{i}] is zero or not finite; a landscape needs a nonzero "
            f"direction",
        )
    return flat


# ----- principal directions of a trajectory ----------------------------------------------------


@dataclass(frozen=True)
class TrajectoryDirections:
    """The top-2 principal directions of a trajectory of weights, relative to its final weights.

    ``vectors`` ``(2, n)``: orthonormal, flat over the parameters; ``directions``: the same as
    lists of arrays in the parameters' shapes (pass them, or this object, as
    ``loss_landscape(..., directions=...)``); ``explained_variance_ratio`` ``(2,)``: the fraction
    of the variance of the weights each explains; ``coordinates`` ``(T, 2)``: each checkpoint
    minus the final weights, projected on the two directions (the final one at ``(0, 0)``)."""

    vectors: np.ndarray
    explained_variance_ratio: np.ndarray
    coordinates: np.ndarray
    shapes: list[tuple]

    @property
    def directions(self) -> list[list[np.ndarray]]:
        layout = FlatLayout(self.shapes)
        return [layout.split(v) for v in self.vectors]


def _count(value) -> str:
    return str(len(value)) if isinstance(value, (list, tuple)) else type(value).__name__


def trajectory_directions(checkpoints: Sequence) -> TrajectoryDirections:
    """The plane that shows an optimisation trajectory best (Li et al. 2018, section 7).

    ``checkpoints``: the weights saved during training, oldest first, the last being the final
    weights the landscape is centred on; each a list of arrays (``[p.data.copy() for p in
    model.parameters()]``) or a flat vector. With ``W`` the ``(T, n)`` matrix of each checkpoint
    minus the final one, the directions are the top-2 principal components of ``W`` (the right
    singular vectors of ``W`` minus its column means, as PCA computes them; signs fixed so each
    vector's largest entry is positive), and the trajectory is ``W`` projected on them.

        >>> td = trajectory_directions([[np.array([0.0, 2.0])], [np.array([1.0, 0.5])],
        ...                             [np.array([1.0, 0.0])]])
        >>> np.round(td.coordinates, 2).tolist()
        [[2.23, 0.08], [0.44, 0.24], [0.0, 0.0]]
        >>> np.round(td.explained_variance_ratio, 2).tolist()
        [0.99, 0.01]
    """
    fname = "trajectory_directions"
    check(
        isinstance(checkpoints, (list, tuple)) and len(checkpoints) >= 3,
        f"{fname}: needs a list of at least 3 checkpoints (oldest first, the final weights "
        f"last) to find two directions; got {_count(checkpoints)}",
    )
    first = checkpoints[0]
    if isinstance(first, (list, tuple)):
        layout = FlatLayout([_array(a).shape for a in first])
    else:
        layout = FlatLayout([(_array(first).size,)])
    flats = np.stack([as_flat(fname, f"checkpoints[{i}]", c, layout)
                      for i, c in enumerate(checkpoints)])  # fmt: skip
    W = flats - flats[-1]
    centred = W - W.mean(axis=0)
    _, s, Vt = np.linalg.svd(centred, full_matrices=False)
    variance = s**2
    if len(s) < 2 or s[1] <= 1e-12 * s[0]:
        raise CurvatureError(
            f"{fname}: the checkpoints span fewer than two directions (the weights did not "
            f"move, or moved along one line); save checkpoints at different points of training"
        )
    vectors = Vt[:2].copy()
    biggest = np.argmax(np.abs(vectors), axis=1)
    vectors *= np.sign(vectors[np.arange(2), biggest])[:, None]
    return TrajectoryDirections(
        vectors=vectors,
        explained_variance_ratio=variance[:2] / variance.sum(),
        coordinates=W @ vectors.T,
        shapes=list(layout.shapes),
    )
