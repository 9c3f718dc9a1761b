"""Loss landscapes (Li et al. 2018): filter normalisation makes them invariant to rescaling a
ReLU layer by a and the next by 1/a; given directions give the loss by hand and a quadratic's
closed form; the model comes back exactly as it was; bad arguments are refused clearly."""

import matplotlib
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.curvature import (
    CurvatureError,
    Landscape,
    loss_landscape,
    top_hessian_eigenvalues,
    trajectory_directions,
)
from minigrad.utils.data import DataLoader, TensorDataset

matplotlib.use("Agg")

F = nn.functional


def mlp(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return mg.tensor(rng.standard_normal((40, 5))), rng.integers(0, 3, 40)


def weights(model):
    return [p.data.copy() for p in model.parameters()]


def loss_at(model, arrays, data):
    """The loss with the parameters set to ``arrays``, by hand (on a copy of the model)."""
    copy = mlp()
    with mg.no_grad():
        for p, a in zip(copy.parameters(), arrays):
            p.copy_(a)
        return F.cross_entropy(copy(data[0]), data[1]).item()


# ----- filter normalisation -----------------------------------------------------------------


def rescaled(model, alpha):
    """The same function: the ReLU layer's weight and bias times alpha, the next weight / alpha."""
    other = mlp()
    other.load_state_dict(model.state_dict())
    with mg.no_grad():
        other[0].weight.mul_(alpha)
        other[0].bias.mul_(alpha)
        other[2].weight.div_(alpha)
    return other


@pytest.mark.parametrize("ignore_1d", [True, False])
def test_filter_normalised_landscape_is_invariant_to_relu_rescaling(data, ignore_1d):
    model = mlp()
    other = rescaled(model, 7.5)
    np.testing.assert_allclose(other(data[0]).data, model(data[0]).data, rtol=1e-12)
    kwargs = dict(dims=2, steps=7, seed=3, ignore_1d=ignore_1d)
    a = loss_landscape(model, F.cross_entropy, data, **kwargs)
    b = loss_landscape(other, F.cross_entropy, data, **kwargs)
    assert np.ptp(a.values) > 0.1  # the landscape is not flat
    np.testing.assert_allclose(b.values, a.values, rtol=0, atol=1e-10)


def test_random_directions_are_not_invariant_to_relu_rescaling(data):
    model = mlp()
    a = loss_landscape(model, F.cross_entropy, data, "random", dims=2, steps=7, seed=3)
    b = loss_landscape(rescaled(model, 7.5), F.cross_entropy, data, "random", dims=2, steps=7,
                       seed=3)  # fmt: skip
    assert np.abs(b.values - a.values).max() > 0.05


def test_filter_directions_have_the_weights_filter_norms():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 2 * 2, 3))
    x, y = mg.tensor(np.random.default_rng(0).standard_normal((6, 2, 4, 4))), np.arange(6) % 3
    conv_w, conv_b, lin_w, lin_b = weights(model)
    kept = loss_landscape(model, F.cross_entropy, (x, y), steps=3, ignore_1d=False)
    zeroed = loss_landscape(model, F.cross_entropy, (x, y), steps=3)
    dw, db, dlw, dlb = kept.directions[0]
    # one filter = one output channel of the conv weight, one row of the Linear weight
    np.testing.assert_allclose(np.linalg.norm(dw.reshape(4, -1), axis=1),
                               np.linalg.norm(conv_w.reshape(4, -1), axis=1), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.linalg.norm(dlw, axis=1), np.linalg.norm(lin_w, axis=1),
                               rtol=1e-12)  # fmt: skip
    # a bias is one filter when kept, zero by default
    assert np.linalg.norm(db) == pytest.approx(np.linalg.norm(conv_b), rel=1e-12)
    assert np.linalg.norm(dlb) == pytest.approx(np.linalg.norm(lin_b), rel=1e-12)
    assert not np.any(zeroed.directions[0][1]) and not np.any(zeroed.directions[0][3])
    np.testing.assert_array_equal(zeroed.directions[0][0], dw)  # same draw, same seed


def test_seed_reproduces_the_directions_and_returned_directions_the_landscape(data):
    model = mlp()
    a = loss_landscape(model, F.cross_entropy, data, dims=2, steps=5, seed=11)
    b = loss_landscape(model, F.cross_entropy, data, dims=2, steps=5, seed=11)
    c = loss_landscape(model, F.cross_entropy, data, dims=2, steps=5, seed=12)
    np.testing.assert_array_equal(b.values, a.values)
    assert np.abs(c.values - a.values).max() > 1e-3
    again = loss_landscape(model, F.cross_entropy, data, directions=a.directions, steps=5)
    assert again.kind == "given" and again.dims == 2
    np.testing.assert_allclose(again.values, a.values, rtol=0, atol=1e-12)


# ----- given directions -----------------------------------------------------------------------


def test_1d_landscape_along_a_given_direction_is_the_loss_by_hand(data):
    model = mlp()
    w = weights(model)
    direction = [np.random.default_rng(5).standard_normal(a.shape) for a in w]
    land = loss_landscape(model, F.cross_entropy, data, directions=[direction], steps=5, span=2.0)
    assert isinstance(land, Landscape) and land.values.shape == (5,)
    np.testing.assert_allclose(land.coordinates[0], [-2, -1, 0, 1, 2])
    by_hand = [loss_at(model, [a + x * d for a, d in zip(w, direction)], data)
               for x in land.coordinates[0]]  # fmt: skip
    np.testing.assert_allclose(land.values, by_hand, rtol=1e-13)
    assert land.center_loss == pytest.approx(loss_at(model, w, data), rel=1e-14)
    flat = np.concatenate([d.ravel() for d in direction])  # the same direction, flat
    np.testing.assert_array_equal(
        loss_landscape(model, F.cross_entropy, data, directions=[flat], steps=5, span=2.0).values,
        land.values,
    )


def test_checkpoint_difference_direction_passes_through_both_checkpoints(data):
    model = mlp()
    start = weights(model)
    final = weights(mlp(seed=1))
    with mg.no_grad():
        for p, a in zip(model.parameters(), final):
            p.copy_(a)
    towards_start = [s - f for s, f in zip(start, final)]
    land = loss_landscape(model, F.cross_entropy, data, directions=[towards_start], steps=3)
    np.testing.assert_allclose(land.values[[1, 2]],
                               [loss_at(model, final, data), loss_at(model, start, data)],
                               rtol=1e-13)  # fmt: skip


class Quadratic(nn.Module):
    """Outputs its parameter; the loss 0.5 (w - c)^T A (w - c) makes a quadratic of the weights."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return self.w


def test_quadratic_2d_landscape_along_eigenvectors_is_the_closed_form():
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    lams = np.array([9.0, 4.0, 1.0, 0.5, 0.1])
    A, c, w0 = Q @ np.diag(lams) @ Q.T, rng.standard_normal(5), rng.standard_normal(5)

    def loss_fn(out, target):
        d = out - target
        return 0.5 * (d * (mg.tensor(A) @ d)).sum()

    model = Quadratic(w0)
    # the top two eigenvectors as the curvature tools give them
    eig = top_hessian_eigenvalues(lambda ps: loss_fn(ps[0], mg.tensor(c)), [model.w], k=2,
                                  max_iter=500, tol=1e-12, seed=0)  # fmt: skip
    np.testing.assert_allclose(eig.eigenvalues, lams[:2], rtol=1e-9)
    land = loss_landscape(model, loss_fn, (None, mg.tensor(c)),
                          directions=[eig.split(0), eig.split(1)], steps=9, span=1.5)  # fmt: skip
    u, v = eig.eigenvectors
    g = A @ (w0 - c)
    x, y = np.meshgrid(*land.coordinates, indexing="ij")
    f0 = 0.5 * (w0 - c) @ A @ (w0 - c)
    closed = f0 + x * (g @ u) + y * (g @ v) + 0.5 * (lams[0] * x**2 + lams[1] * y**2)
    assert land.values.shape == (9, 9)
    np.testing.assert_allclose(land.values, closed, rtol=1e-9, atol=1e-9)


# ----- the model comes back as it was ----------------------------------------------------------


def test_parameters_modes_and_grads_are_restored_exactly(data):
    model = mlp()
    before = weights(model)
    model[2].eval()  # a mixed state must come back as it was
    land = loss_landscape(model, F.cross_entropy, data, dims=2, steps=4, span=3.0)
    assert np.isfinite(land.values).all()
    for p, a in zip(model.parameters(), before):
        assert np.array_equal(p.data, a) and p.grad is None
    assert [m.training for m in model.modules()] == [True, True, True, False]


def test_parameters_are_restored_after_loss_fn_raises(data):
    model = mlp()
    before = weights(model)
    calls = []

    def failing(outputs, targets):
        assert not model.training  # the scan runs in eval mode
        calls.append(1)
        if len(calls) == 6:
            raise RuntimeError("boom")
        return F.cross_entropy(outputs, targets)

    with pytest.raises(RuntimeError, match="boom"):
        loss_landscape(model, failing, data, dims=2, steps=4)
    assert len(calls) == 6
    for p, a in zip(model.parameters(), before):
        assert np.array_equal(p.data, a)
    assert model.training and all(m.training for m in model.modules())


# ----- data as batches and trajectories ------------------------------------------------------


def test_batches_give_the_full_data_loss(data):
    model = mlp()
    full = loss_landscape(model, F.cross_entropy, data, steps=5, seed=1)
    loader = DataLoader(TensorDataset(data[0], mg.tensor(data[1])), batch_size=16, shuffle=True)
    batched = loss_landscape(model, F.cross_entropy, loader, steps=5, seed=1)  # 16 + 16 + 8
    np.testing.assert_allclose(batched.values, full.values, rtol=1e-12)
    halves = [(data[0][:10], data[1][:10]), (data[0][10:], data[1][10:])]
    np.testing.assert_allclose(loss_landscape(model, F.cross_entropy, halves, steps=5,
                                              seed=1).values, full.values, rtol=1e-12)  # fmt: skip


def test_trajectory_directions_span_the_plane_of_the_trajectory():
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    final = rng.standard_normal(16)
    uv = np.linalg.qr(rng.standard_normal((16, 2)))[0].T
    ab = rng.standard_normal((6, 2)) * [3.0, 1.0]
    ab[-1] = 0
    flats = final + ab @ uv
    checkpoints = [[f[:12].reshape(3, 4), f[12:]] for f in flats]
    td = trajectory_directions(checkpoints)
    assert td.vectors.shape == (2, 16) and [d[0].shape for d in td.directions] == [(3, 4)] * 2
    np.testing.assert_allclose(td.vectors @ td.vectors.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(td.explained_variance_ratio.sum(), 1.0, rtol=1e-12)
    # the principal vectors span the plane; the coordinates give the weights back
    np.testing.assert_allclose(uv @ td.vectors.T @ td.vectors, uv, atol=1e-12)
    np.testing.assert_allclose(td.coordinates @ td.vectors, flats - final, atol=1e-12)
    centred = (flats - final) - (flats - final).mean(0)
    variances = np.linalg.eigvalsh(centred.T @ centred)[::-1][:2]
    np.testing.assert_allclose(td.explained_variance_ratio, variances / variances.sum(),
                               rtol=1e-10)  # fmt: skip
    assert td.explained_variance_ratio[0] > td.explained_variance_ratio[1]
    assert shapes == [tuple(a.shape) for a in td.directions[0]]


def test_a_trajectory_is_projected_on_the_landscape(data):
    model = mlp()
    checkpoints = [weights(mlp(seed=s)) for s in (3, 2, 1)] + [weights(model)]
    td = trajectory_directions(checkpoints)
    land = loss_landscape(model, F.cross_entropy, data, directions=td, steps=3,
                          trajectory=checkpoints)  # fmt: skip
    assert land.kind == "pca" and land.dims == 2
    np.testing.assert_allclose(land.trajectory, td.coordinates, atol=1e-12)
    w = weights(model)
    point = [a + td.coordinates[0, 0] * d0 + td.coordinates[0, 1] * d1
             for a, d0, d1 in zip(w, *td.directions)]  # fmt: skip
    assert land.trajectory_values[0] == pytest.approx(loss_at(model, point, data), rel=1e-12)
    assert land.trajectory_values[-1] == pytest.approx(land.center_loss, rel=1e-14)


def test_plots_draw_each_kind(data):
    import matplotlib.pyplot as plt

    model = mlp()
    line = loss_landscape(model, F.cross_entropy, data, steps=5)
    plane = loss_landscape(model, F.cross_entropy, data, dims=2, steps=5,
                           trajectory=[weights(mlp(seed=1)), weights(model)])  # fmt: skip
    try:
        assert len(line.plot().lines) >= 1
        ax = plane.plot("contour")
        assert any(len(l.get_xdata()) == 2 for l in ax.lines)  # the trajectory
        assert hasattr(plane.plot("surface"), "get_zlim")
        with pytest.raises(CurvatureError, match="'contour' or 'surface'"):
            plane.plot("line")
        with pytest.raises(CurvatureError, match="3-D axes"):
            plane.plot("surface", ax=plt.figure().add_subplot())
    finally:
        plt.close("all")


# ----- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dims=3), "dims must be 1"),
        (dict(steps=1), "steps must be an integer >= 2"),
        (dict(steps=2.5), "steps must be an integer"),
        (dict(span=0.0), "span must be a positive number"),
        (dict(directions="pca"), "directions must be 'filter', 'random'"),
        (dict(directions=[np.zeros(3)]), r"has shape \(3,\); .* has shape \(75,\)"),
        (dict(directions=[[np.ones((8, 5))]]), "has 1 arrays but the model has 4"),
        (dict(directions=[[np.ones((5, 8)), np.ones(8), np.ones((3, 8)), np.ones(3)]]),
         r"directions\[0\]\[0\] has shape \(5, 8\), but parameter 0 has shape \(8, 5\)"),
        (dict(directions=[np.ones(75)] * 3), "a list of one or two directions"),
        (dict(directions=[np.ones(75)] * 2, dims=1), "dims=1 but 2 direction"),
        (dict(directions=[np.zeros(75)]), "is zero or not finite"),
        (dict(trajectory=[np.ones(7)]), r"trajectory\[0\] has shape \(7,\)"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_clearly(data, kwargs, message):
    with pytest.raises(CurvatureError, match=message):
        loss_landscape(mlp(), F.cross_entropy, data, **kwargs)


def test_bad_model_loss_and_checkpoints_are_refused_clearly(data):
    with pytest.raises(CurvatureError, match="model must be an nn.Module"):
        loss_landscape(lambda x: x, F.cross_entropy, data)
    with pytest.raises(CurvatureError, match="must return a scalar loss"):
        loss_landscape(mlp(), lambda o, t: o, data, steps=3)
    with pytest.raises(CurvatureError, match="at least 3 checkpoints"):
        trajectory_directions([np.ones(3), np.zeros(3)])
    with pytest.raises(CurvatureError, match="fewer than two directions"):
        trajectory_directions([np.ones(3) * t for t in range(4)])
