"""Gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``) with PyTorch's semantics.

Expected values come from numpy formulas written here: the total norm is the p-norm of all
gradient entries together (``max |g|`` for p = inf), and gradients are scaled by
``min(1, max_norm / (total + 1e-6))``.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import MinigradError
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = [(3, 4), (5,), (2, 2, 2), ()]


def params_with_grads(seed=0, scale=3.0, dtype=np.float64):
    """Parameters of several shapes (one 0-d) whose ``.grad`` holds known random values."""
    rng = np.random.default_rng(seed)
    params = []
    for shape in SHAPES:
        p = mg.tensor(rng.normal(size=shape).astype(dtype), requires_grad=True)
        p.grad = mg.tensor((scale * rng.normal(size=shape)).astype(dtype))
        params.append(p)
    return params


def total_norm(arrays, p):
    flat = np.concatenate([np.ravel(a) for a in arrays])
    return np.abs(flat).max() if p == np.inf else (np.abs(flat) ** p).sum() ** (1 / p)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, np.inf], ids=lambda p: f"p={p}")
@pytest.mark.parametrize("max_norm", [0.5, 1e3], ids=["clipped", "within-bound"])
def test_clip_grad_norm(norm_type, max_norm):
    """Returns the total norm before clipping; scales every gradient by the same factor."""
    params = params_with_grads()
    before = [np.array(p.grad.data, copy=True) for p in params]
    expected_total = total_norm(before, norm_type)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, mg.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-12)
    coef = min(1.0, max_norm / (expected_total + 1e-6))
    for p, g in zip(params, before):
        np.testing.assert_allclose(p.grad.data, coef * g, rtol=1e-12, atol=0)
    after = total_norm([p.grad.data for p in params], norm_type)
    if max_norm < expected_total:
        assert max_norm * (1 - 1e-5) < after <= max_norm
    else:
        assert coef == 1.0 and after == pytest.approx(expected_total, rel=1e-12)


def test_inf_norm_is_the_largest_magnitude_including_negative_entries():
    a = mg.tensor([1.0, -2.0], requires_grad=True)
    b = mg.tensor([[0.5, -7.0], [3.0, 6.5]], requires_grad=True)
    a.grad, b.grad = mg.tensor([1.0, -2.0]), mg.tensor([[0.5, -7.0], [3.0, 6.5]])
    assert clip_grad_norm_([a, b], 3.5, norm_type=float("inf")).item() == 7.0
    np.testing.assert_allclose(b.grad.data, np.array([[0.5, -7.0], [3.0, 6.5]]) * 3.5 / (7 + 1e-6))
    np.testing.assert_allclose(a.grad.data, np.array([1.0, -2.0]) * 3.5 / (7 + 1e-6))


def test_parameters_without_gradients_are_skipped():
    params = params_with_grads()
    extra = mg.tensor(np.ones(3), requires_grad=True)
    expected = total_norm([p.grad.data for p in params], 2)
    total = clip_grad_norm_([extra, *params], 1.0)
    assert extra.grad is None
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)


def test_no_gradients_gives_zero():
    p = mg.tensor(np.ones(3), requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    assert clip_grad_norm_([], 1.0).item() == 0.0
    assert p.grad is None


def test_single_tensor_and_module_parameters_are_accepted():
    """A lone Tensor, or a generator such as ``model.parameters()``."""
    p = mg.tensor([3.0, 4.0], requires_grad=True)
    p.grad = mg.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p.grad.data, np.array([3.0, 4.0]) / (5 + 1e-6))

    model = nn.Linear(3, 2, dtype=np.float64, generator=mg.Generator(0))
    x = mg.tensor(np.random.default_rng(1).normal(size=(4, 3)))
    (model(x) ** 2).sum().backward()
    before = [np.array(q.grad.data, copy=True) for q in model.parameters()]
    expected = total_norm(before, 2)
    total = clip_grad_norm_(model.parameters(), 0.1)
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    for q, g in zip(model.parameters(), before):
        np.testing.assert_allclose(q.grad.data, g * 0.1 / (expected + 1e-6), rtol=1e-12)


def test_float32_gradients_stay_float32():
    params = params_with_grads(dtype=np.float32)
    before = [np.array(p.grad.data, copy=True) for p in params]
    total = clip_grad_norm_(params, 1.0)
    expected = total_norm([g.astype(np.float64) for g in before], 2)
    np.testing.assert_allclose(total.item(), expected, rtol=1e-6)
    for p, g in zip(params, before):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.data, g / (expected + 1e-6), rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("norm_type", [2.0, np.inf], ids=["p=2", "p=inf"])
def test_nonfinite_norm_raises_when_asked_and_changes_nothing(bad, norm_type):
    params = params_with_grads()
    params[1].grad.data[2] = bad
    before = [np.array(p.grad.data, copy=True) for p in params]
    with pytest.raises(RuntimeError, match="non-finite") as info:
        clip_grad_norm_(params, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    assert isinstance(info.value, MinigradError)
    assert "error_if_nonfinite=False" in str(info.value)
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad.data, g)


def test_infinite_norm_without_the_error_scales_by_it_as_pytorch():
    """``error_if_nonfinite=False``: the norm is returned; finite entries are scaled by
    ``max_norm / inf = 0``."""
    params = params_with_grads()
    params[0].grad.data[1, 1] = np.inf
    total = clip_grad_norm_(params, 1.0)
    assert total.item() == np.inf
    for p in params[1:]:
        np.testing.assert_array_equal(p.grad.data, 0.0)
    finite = np.isfinite(params[0].grad.data)
    assert finite.sum() == 11
    np.testing.assert_array_equal(params[0].grad.data[finite], 0.0)


def test_nan_norm_without_the_error_is_returned_and_spreads():
    params = params_with_grads()
    params[2].grad.data[0, 0, 0] = np.nan
    total = clip_grad_norm_(params, 1.0)
    assert np.isnan(total.item())
    assert all(np.isnan(p.grad.data).all() for p in params)


@pytest.mark.parametrize("clip_value", [0.5, 2.0, 100.0])
def test_clip_grad_value(clip_value):
    params = params_with_grads()
    extra = mg.tensor(np.ones(2), requires_grad=True)
    before = [np.array(p.grad.data, copy=True) for p in params]
    assert clip_grad_value_([*params, extra], clip_value) is None
    assert extra.grad is None
    for p, g in zip(params, before):
        np.testing.assert_array_equal(
            p.grad.data, np.minimum(np.maximum(g, -clip_value), clip_value)
        )
        assert np.abs(p.grad.data).max() <= clip_value


def test_clip_grad_value_single_tensor_float32():
    p = mg.tensor(np.array([-3.0, 0.25, 7.0], np.float32), requires_grad=True)
    p.grad = mg.tensor(np.array([-3.0, 0.25, 7.0], np.float32))
    clip_grad_value_(p, 1)
    assert p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.grad.data, np.array([-1.0, 0.25, 1.0], np.float32))


def test_clipping_works_inside_a_training_step():
    """Between backward and step, with grad mode on (clipping itself runs without the tape)."""
    model = nn.Linear(2, 1, dtype=np.float64, generator=mg.Generator(0))
    x = mg.tensor([[100.0, -200.0]])
    (model(x) ** 2).sum().backward()
    total = clip_grad_norm_(model.parameters(), 1.0)
    assert total.item() > 1.0
    norm = total_norm([p.grad.data for p in model.parameters()], 2)
    assert norm == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_takes_a_generator_of_parameters_once():
    """model.parameters() is a generator: the norm and the scaling both see every gradient."""
    model = nn.Linear(2, 1, dtype=np.float64, generator=mg.Generator(0))
    x = mg.tensor(np.array([[100.0, -200.0]]))
    (model(x) ** 2).sum().backward()
    clip_grad_norm_((p for p in model.parameters()), 1.0, foreach=None)
    assert total_norm([p.grad.data for p in model.parameters()], 2) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, np.inf], ids=lambda p: f"p={p}")
def test_get_total_norm_and_clip_grads_with_norm_are_clip_grad_norm_in_two_parts(norm_type):
    params, same = params_with_grads(seed=3), params_with_grads(seed=3)
    grads = [p.grad for p in params]
    total = nn.utils.get_total_norm(grads, norm_type)
    assert total.item() == pytest.approx(total_norm([g.data for g in grads], norm_type))
    nn.utils.clip_grads_with_norm_(params, 0.5, total)
    assert clip_grad_norm_(same, 0.5, norm_type).item() == total.item()
    for p, q in zip(params, same):
        np.testing.assert_array_equal(p.grad.data, q.grad.data)


def test_get_total_norm_refuses_a_non_finite_norm_when_asked():
    with pytest.raises(MinigradError, match="get_total_norm: .*non-finite"):
        nn.utils.get_total_norm([mg.tensor([np.nan])], error_if_nonfinite=True)


# ----- parameters as one vector ------------------------------------------------------------------


def two_layers():
    generator = mg.Generator(0)
    return nn.Sequential(nn.Linear(3, 2, dtype=np.float64, generator=generator),
                         nn.Linear(2, 1, dtype=np.float64, generator=generator))  # fmt: skip


def test_parameters_to_vector_joins_in_parameter_order():
    model = two_layers()
    vec = nn.utils.parameters_to_vector(model.parameters())
    expected = np.concatenate([p.data.ravel() for p in model.parameters()])  # 0.weight row-major
    assert vec.shape == (6 + 2 + 2 + 1,)
    np.testing.assert_array_equal(vec.numpy(), expected)
    np.testing.assert_array_equal(vec.numpy()[:6], model[0].weight.data.reshape(-1))


def test_parameters_to_vector_is_on_the_tape():
    """d/dθ of sum(c * vec(θ)) is c, put back into each parameter's shape."""
    model = two_layers()
    vec = nn.utils.parameters_to_vector(model.parameters())
    c = np.arange(11.0)
    (vec * mg.tensor(c)).sum().backward()
    np.testing.assert_array_equal(model[0].weight.grad.numpy(), c[:6].reshape(2, 3))
    np.testing.assert_array_equal(model[1].bias.grad.numpy(), c[10:])


def test_vector_to_parameters_is_the_inverse():
    model, other = two_layers(), nn.Sequential(nn.Linear(3, 2, dtype=np.float64),
                                               nn.Linear(2, 1, dtype=np.float64))  # fmt: skip
    vec = nn.utils.parameters_to_vector(model.parameters())
    storage = other[0].weight.data
    nn.utils.vector_to_parameters(vec, other.parameters())
    for p, q in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert other[0].weight.data is storage  # copied in place: optimizers keep their parameters
    nn.utils.vector_to_parameters(mg.tensor(np.arange(11.0)), other.parameters())
    assert other[1].weight.tolist() == [[8.0, 9.0]] and other[1].bias.tolist() == [10.0]


@pytest.mark.parametrize(
    "vec, match",
    [
        (np.zeros(11), "expected a Tensor, but got: ndarray"),
        (mg.zeros(10, dtype=np.float64), "has 10 elements, the parameters 11"),
        (mg.zeros(12, dtype=np.float64), "has 12 elements, the parameters 11"),
        (mg.zeros(11, 1, dtype=np.float64), "1-D vector"),
    ],
)
def test_vector_to_parameters_refuses(vec, match):
    with pytest.raises(MinigradError, match=match):
        nn.utils.vector_to_parameters(vec, two_layers().parameters())
