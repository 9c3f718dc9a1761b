"""``loss_landscape``: a model's loss on a line or a plane through its weights (Li et al. 2018,
"Visualizing the Loss Landscape of Neural Nets").

With the weights ``w`` (flat, float64) and directions ``d1``, ``d2``, the 2-D landscape is
``values[i, j] = L(w + x[i] * d1 + y[j] * d2)`` on the grid ``x = y = linspace(-span, span,
steps)``; the 1-D one is ``values[i] = L(w + x[i] * d1)``. Random directions are drawn per
parameter from a seeded numpy Generator; "filter" normalisation rescales each filter of a
direction to the norm of the same filter of the weights, so that the picture does not depend on
how the weights happen to be scaled (a ReLU layer multiplied by ``a`` and the next one by ``1/a``
compute the same function and give the same landscape).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..arguments import FlatLayout
from ..autodiff import no_grad
from ..tensor import Tensor
from .directions import (
    KINDS,
    TrajectoryDirections,
    as_flat,
    given_directions,
    random_directions,
)
from .loss_operator import CurvatureError, check

__all__ = ["Landscape", "loss_landscape"]


@dataclass(frozen=True)
class Landscape:
    """A loss landscape computed by ``loss_landscape``.

    ``values``: the loss, ``(steps,)`` (1-D) or ``(steps, steps)`` (2-D, ``values[i, j]`` at
    ``coordinates[0][i]`` along direction 1 and ``coordinates[1][j]`` along direction 2);
    ``coordinates``: one ``linspace(-span, span, steps)`` per direction; ``directions``: the
    directions used, each a list of float64 arrays in the parameters' shapes (pass them back as
    ``directions=`` to reproduce the landscape); ``center_loss``: the loss at the weights
    themselves; ``trajectory``: the checkpoints' coordinates ``(T, dims)`` in the directions
    (least squares), or None, and ``trajectory_values`` the loss at those points of the line or
    plane; ``kind``: "filter", "random" or "given"."""

    values: np.ndarray
    coordinates: tuple
    directions: list
    center_loss: float
    kind: str
    trajectory: np.ndarray | None = None
    trajectory_values: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def dims(self) -> int:
        return len(self.coordinates)

    def plot(self, kind: str | None = None, ax=None, **kwargs):
        """Draw the landscape with matplotlib: ``kind="line"`` (1-D; the default there),
        ``"contour"`` (2-D; the default there) or ``"surface"`` (2-D, on a 3-D axes); the
        trajectory, if any, on top. Returns the axes."""
        from .landscape_plot import plot_landscape

        return plot_landscape(self, kind, ax, **kwargs)


def _batches(fname: str, data) -> list:
    """The data as a list of ``(inputs, targets)`` pairs, read once (a shuffling loader then
    gives every grid point the same batches)."""
    single = isinstance(data, (tuple, list)) and len(data) == 2
    if single and not all(isinstance(part, (tuple, list)) for part in data):
        return [tuple(data)]
    try:
        batches = list(data)
    except TypeError:
        raise CurvatureError(
            f"{fname}: data must be an (inputs, targets) pair or an iterable of such batches "
            f"(a DataLoader); got {type(data).__name__}"
        ) from None
    check(len(batches) > 0, f"{fname}: data has no batches")
    for i, batch in enumerate(batches):
        check(
            isinstance(batch, (tuple, list)) and len(batch) == 2,
            f"{fname}: batch {i} of data is not an (inputs, targets) pair",
        )
    return [tuple(batch) for batch in batches]


def _batch_size(targets) -> int:
    shape = np.shape(targets.data if isinstance(targets, Tensor) else targets)
    return shape[0] if shape else 1


class _Evaluator:
    """The loss of ``model`` at flat weights, written into its parameters in place."""

    def __init__(self, fname, model, loss_fn, batches, params, layout):
        self.fname, self.model, self.loss_fn = fname, model, loss_fn
        self.params, self.layout = params, layout
        self.batches = [(Tensor(x) if isinstance(x, np.ndarray) else x, y) for x, y in batches]
        sizes = np.array([_batch_size(y) for _, y in self.batches], dtype=np.float64)
        self.weights = sizes / sizes.sum()

    def set(self, flat: np.ndarray) -> None:
        for p, block in zip(self.params, self.layout.split(flat)):
            p.copy_(block)

    def loss(self) -> float:
        total = 0.0
        for (x, y), weight in zip(self.batches, self.weights):
            value = self.loss_fn(self.model(x), y)
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            size = value.size
            check(
                size == 1,
                f"{self.fname}: loss_fn(outputs, targets) must return a scalar loss; it "
                f"returned {size} values (use reduction='mean')",
            )
            total += weight * float(value.reshape(()))
        return total

    def at(self, flat: np.ndarray) -> float:
        self.set(flat)
        return self.loss()


def _check_arguments(fname, model, loss_fn, steps, span, dims, directions):
    check(
        callable(model) and all(hasattr(model, a) for a in ("parameters", "modules", "eval")),
        f"{fname}: model must be an nn.Module (callable, with parameters(), modules() and "
        f"eval()); got {type(model).__name__}",
    )
    check(callable(loss_fn), f"{fname}: loss_fn must be callable, as loss_fn(outputs, targets)")
    check(
        isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and steps >= 2,
        f"{fname}: steps must be an integer >= 2 (points per axis; odd puts one at the "
        f"weights themselves); got {steps!r}",
    )
    check(
        isinstance(span, (int, float, np.number)) and np.isfinite(span) and span > 0,
        f"{fname}: span must be a positive number (the grid is linspace(-span, span, steps)); "
        f"got {span!r}",
    )
    check(
        dims in (None, 1, 2) and not isinstance(dims, bool),
        f"{fname}: dims must be 1 (a line) or 2 (a plane); got {dims!r}",
    )
    if isinstance(directions, str):
        check(
            directions in KINDS,
            f"{fname}: directions must be 'filter', 'random' or a list of one or two given "
            f"directions; got {directions!r}",
        )


def loss_landscape(model, loss_fn: Callable, data, directions="filter", steps: int = 51,
                   span: float = 1.0, dims: int | None = None, seed=0, trajectory=None,
                   ignore_1d: bool = True) -> Landscape:  # fmt: skip
    """The loss of ``model`` on a line (``dims=1``) or a plane (``dims=2``) through its weights.

    ``loss_fn(outputs, targets)``: a scalar loss such as ``nn.functional.cross_entropy``;
    ``data``: an ``(inputs, targets)`` pair, or an iterable of them (a DataLoader; read once,
    the loss is the mean over the batches weighted by their sizes: the data set's mean loss when
    ``loss_fn`` averages over a batch). ``directions``: ``"filter"`` (Gaussian, filter-normalised
    as in Li et al. 2018: each filter, a slice along axis 0 of a weight, rescaled to the norm of
    the same filter of the weights; 0-D and 1-D parameters zeroed unless ``ignore_1d=False``,
    which normalises each as one filter), ``"random"`` (Gaussian, unnormalised) or given: a list
    of one or two directions, each a flat vector of length ``n`` or a list of arrays in the
    parameters' shapes (the difference of two checkpoints; ``EigenResult.split(i)``), a
    ``(k, n)`` array, or a ``TrajectoryDirections``. ``dims`` defaults to the number of given
    directions, else 1. The grid is ``linspace(-span, span, steps)`` along each direction;
    ``seed`` seeds the numpy Generator the random directions come from. ``trajectory``:
    checkpoints (each a list of arrays or a flat vector) projected on the directions relative
    to the model's weights (least squares).

    The model runs in eval mode under ``no_grad``, one forward per grid point and batch, with
    its parameters overwritten in place; its weights and each module's training mode are
    restored exactly afterwards, also when ``loss_fn`` raises. Directions and grid points are
    float64; the forward passes run in the model's own dtype (a float32 model's weights are
    rounded to float32 at each point), and the losses come back as float64. Returns a
    ``Landscape``.
    """
    fname = "loss_landscape"
    _check_arguments(fname, model, loss_fn, steps, span, dims, directions)
    params = list(model.parameters())
    check(len(params) > 0, f"{fname}: the model has no parameters")
    layout = FlatLayout([p.shape for p in params])
    center = layout.join([np.asarray(p.data, dtype=np.float64) for p in params])
    if isinstance(directions, str):
        drawn = random_directions(layout.split(center), dims or 1, directions, seed, ignore_1d)
        flat = np.stack([layout.join(d) for d in drawn])
        kind = directions
    else:
        flat = given_directions(fname, directions, layout)
        check(
            dims is None or dims == len(flat),
            f"{fname}: dims={dims} but {len(flat)} direction(s) were given; give "
            f"{dims} direction(s) or leave dims out",
        )
        kind = "pca" if isinstance(directions, TrajectoryDirections) else "given"
    coordinates = tuple(np.linspace(-span, span, steps) for _ in flat)
    projected = None
    if trajectory is not None:
        check(
            isinstance(trajectory, (list, tuple)) and len(trajectory) > 0,
            f"{fname}: trajectory must be a list of checkpoints (each a list of arrays in the "
            f"parameters' shapes or a flat vector)",
        )
        offsets = np.stack([as_flat(fname, f"trajectory[{i}]", c, layout) - center
                            for i, c in enumerate(trajectory)])  # fmt: skip
        projected = np.linalg.lstsq(flat.T, offsets.T, rcond=None)[0].T
    evaluator = _Evaluator(fname, model, loss_fn, _batches(fname, data), params, layout)
    saved = [p.data.copy() for p in params]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            center_loss = evaluator.loss()
            values = _scan(evaluator, center, flat, coordinates)
            path_values = None
            if projected is not None:
                path_values = np.array([evaluator.at(center + c @ flat) for c in projected])
    finally:
        with no_grad():
            for p, value in zip(params, saved):
                p.copy_(value)
        for module, mode in modes:
            module.training = mode
    return Landscape(
        values=values,
        coordinates=coordinates,
        directions=[layout.split(d) for d in flat],
        center_loss=center_loss,
        kind=kind,
        trajectory=projected,
        trajectory_values=path_values,
        info=_info(directions, span, steps, seed, ignore_1d),
    )


def _info(directions, span, steps, seed, ignore_1d) -> dict:
    info = {"span": float(span), "steps": int(steps), "seed": seed, "ignore_1d": ignore_1d}
    if isinstance(directions, TrajectoryDirections):
        info["explained_variance_ratio"] = directions.explained_variance_ratio
    return info


def _scan(evaluator: _Evaluator, center: np.ndarray, flat: np.ndarray, coordinates) -> np.ndarray:
    """The loss at every grid point: ``center + x * d1 (+ y * d2)``."""
    if len(flat) == 1:
        return np.array([evaluator.at(center + x * flat[0]) for x in coordinates[0]])
    values = np.empty((len(coordinates[0]), len(coordinates[1])))
    point = np.empty_like(center)
    for i, x in enumerate(coordinates[0]):
        row = center + x * flat[0]
        for j, y in enumerate(coordinates[1]):
            np.multiply(flat[1], y, out=point)
            point += row
            values[i, j] = evaluator.at(point)
    return values
