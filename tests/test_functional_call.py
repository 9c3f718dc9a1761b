"""nn.functional_call: a model as a function of its parameters."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def model_and_data():
    mg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 2, dtype=np.float64)
    )
    x = mg.tensor(np.random.default_rng(1).standard_normal((5, 3)))
    return model, x


def test_same_output_as_the_model_with_its_own_parameters():
    model, x = model_and_data()
    params = [p.detach() for p in model.parameters()]
    np.testing.assert_array_equal(nn.functional_call(model, params, x).data, model(x).data)


def test_other_values_change_the_output_and_are_put_back():
    model, x = model_and_data()
    originals = list(model.parameters())
    zeros = {name: mg.zeros_like(p) for name, p in model.named_parameters()}
    np.testing.assert_array_equal(nn.functional_call(model, zeros, x).data, np.zeros((5, 2)))
    assert all(a is b for a, b in zip(model.parameters(), originals))


def test_parameters_are_put_back_after_an_exception():
    model, _ = model_and_data()
    originals = list(model.parameters())
    with pytest.raises(mg.ShapeError, match=r"input of shape \(5, 7\); the last axis must"):
        nn.functional_call(model, [p.detach() for p in originals], mg.zeros(5, 7))
    assert all(a is b for a, b in zip(model.parameters(), originals))


def test_gradient_through_functional_call_equals_backward():
    model, x = model_and_data()
    model(x).sum().backward()
    grads = mg.grad(lambda *ps: nn.functional_call(model, ps, x).sum(), argnums=(0, 1, 2, 3))(
        *[p.detach() for p in model.parameters()]
    )
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g.data, p.grad.data, rtol=1e-12)


def test_hessian_of_a_model_matches_finite_differences_of_its_gradient():
    model, x = model_and_data()
    flat0 = np.concatenate([p.data.ravel() for p in model.parameters()])
    shapes = [p.shape for p in model.parameters()]

    def unflat(v):
        out, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(mg.tensor(v[i : i + n].reshape(s)))
            i += n
        return out

    def loss(v):
        return (nn.functional_call(model, unflat_tensor(v), x) ** 2).sum()

    def unflat_tensor(v):
        out, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(v[i : i + n].reshape(s))
            i += n
        return out

    H = mg.hessian(loss)(flat0).data
    gradient = mg.grad(loss)
    h = 1e-6
    for j in range(len(flat0)):
        e = np.zeros_like(flat0)
        e[j] = h
        column = (gradient(flat0 + e).data - gradient(flat0 - e).data) / (2 * h)
        np.testing.assert_allclose(H[:, j], column, atol=1e-6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    assert unflat(flat0)[0].shape == shapes[0]


def test_parameters_inside_lists_and_dicts_are_replaced_and_put_back():
    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = [nn.Parameter(np.ones(2)), nn.Parameter(np.full(2, 2.0))]
            self.towers = {"left": nn.Linear(2, 1, dtype=np.float64)}

        def forward(self, x):
            return self.towers["left"](x * self.scales[0] * self.scales[1])

    model = Heads()
    originals = dict(model.named_parameters())
    x = mg.tensor(np.array([[1.0, 3.0]]))
    replaced = {"scales.1": mg.tensor([0.0, 1.0]), "towers.left.bias": mg.tensor([5.0])}
    out = nn.functional_call(model, replaced, x)
    np.testing.assert_allclose(out.data, 3.0 * model.towers["left"].weight.data[:, 1:] + 5.0)
    assert all(p is originals[name] for name, p in model.named_parameters())


def test_wrong_number_or_names_of_tensors_is_an_error():
    model, x = model_and_data()
    with pytest.raises(nn.StateDictError, match="3 tensors for the 4 parameters"):
        nn.functional_call(model, [mg.zeros(1)] * 3, x)
    with pytest.raises(nn.StateDictError, match="no parameters"):
        nn.functional_call(model, {"9.weight": mg.zeros(1)}, x)


def test_a_tied_parameter_is_swapped_wherever_it_is_used():
    """As torch.func.functional_call's tie_weights=True: b.weight = a.weight, and the value
    given for a.weight is used by both layers (so its gradient has both uses)."""
    import numpy as np

    import minigrad as mg
    from minigrad import nn

    model = nn.Sequential(nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False))
    model[1].weight = model[0].weight
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    W = mg.tensor(np.random.default_rng(1).standard_normal((3, 3)))
    got = mg.grad(lambda w: nn.functional_call(model, {"0.weight": w}, x).sum())(W)
    expected = mg.grad(lambda w: ((x @ w.T) @ w.T).sum())(W)
    np.testing.assert_allclose(got.data, expected.data, rtol=1e-12)
    assert model[0].weight is model[1].weight  # both put back
