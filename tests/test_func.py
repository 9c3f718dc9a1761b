"""``mg.func``: torch.func's names and signatures (a torch.func script runs by changing its
imports), and what they need underneath: gradients of dicts and tuples of tensors (pytrees),
``has_aux``, and ``functional_call`` with buffers."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.func import functional_call, grad, grad_and_value, stack_module_state, vmap

rng = np.random.default_rng(11)


def test_gradients_of_a_dict_and_a_tuple_have_their_nesting():
    """d/dW sum((x W)^2) = 2 x^T (x W), d/db sum(b^2) = 2 b: the closed forms, by name."""
    x = mg.tensor(rng.standard_normal((4, 3)))
    params = {"W": mg.tensor(rng.standard_normal((3, 2))), "b": mg.tensor(rng.standard_normal(2))}

    def loss(p, x):
        return ((x @ p["W"]) ** 2).sum() + (p["b"] ** 2).sum()

    g = mg.grad(loss)(params, x)
    assert set(g) == {"W", "b"}
    xw = x.data @ params["W"].data
    np.testing.assert_allclose(g["W"].data, 2 * x.data.T @ xw, rtol=1e-13)
    np.testing.assert_allclose(g["b"].data, 2 * params["b"].data, rtol=1e-13)
    pair = mg.grad(lambda p: (p[0] ** 3).sum() + p[1][0].sum())((mg.ones(2) * 2, [mg.ones(3)]))
    assert type(pair) is tuple and type(pair[1]) is list
    np.testing.assert_allclose(pair[0].data, [12.0, 12.0])
    np.testing.assert_allclose(pair[1][0].data, np.ones(3))
    # a list of numbers is still one array, as before
    np.testing.assert_allclose(mg.grad(lambda v: (v * v).sum())([1.0, 2.0]).data, [2.0, 4.0])


def test_jacrev_and_vjp_of_a_dict():
    p = {"a": mg.tensor([1.0, 2.0]), "b": mg.tensor(3.0)}

    def f(p):
        return p["a"] * p["b"]

    jac = mg.jacrev(f)(p)
    np.testing.assert_allclose(jac["a"].data, 3.0 * np.eye(2))
    np.testing.assert_allclose(jac["b"].data, [1.0, 2.0])
    out, vjp_fn = mg.vjp(f, p)
    (cot,) = vjp_fn(mg.tensor([1.0, 1.0]))
    np.testing.assert_allclose(cot["a"].data, [3.0, 3.0])
    np.testing.assert_allclose(cot["b"].data, 3.0)
    np.testing.assert_allclose(mg.jacobian(f)(p)["b"].data, [1.0, 2.0])  # "auto": reverse


def test_has_aux_returns_the_auxiliary_value_undifferentiated():
    def f(x):
        y = (x**2).sum()
        return y, {"double": y * 2}

    x = mg.tensor([1.0, 2.0])
    g, aux = mg.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g.data, [2.0, 4.0])
    assert aux["double"].item() == 10.0 and not aux["double"].requires_grad
    (value, aux), g = mg.value_and_grad(f, has_aux=True)(x)
    assert value.item() == 5.0 and aux["double"].item() == 10.0
    jac, aux = mg.jacrev(lambda x: (x**2, x.sum()), has_aux=True)(x)
    np.testing.assert_allclose(jac.data, np.diag([2.0, 4.0]))
    assert aux.item() == 3.0
    jac, aux = mg.jacfwd(lambda x: (x**2, x.sum()), has_aux=True)(x)
    np.testing.assert_allclose(jac.data, np.diag([2.0, 4.0]))
    out, tangent, aux = mg.jvp(lambda x: (x**2, x.sum()), (x,), (mg.ones(2),), has_aux=True)
    np.testing.assert_allclose(tangent.data, [2.0, 4.0])
    out, vjp_fn, aux = mg.vjp(lambda x: (x**2, x.sum()), x, has_aux=True)
    np.testing.assert_allclose(vjp_fn(mg.ones(2))[0].data, [2.0, 4.0])
    with pytest.raises(mg.ArgumentError, match=r"has_aux=True needs the function to return a pair"):
        mg.grad(lambda x: (x**2).sum(), has_aux=True)(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.norm = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(self.norm(self.conv(x)).relu().flatten(1)).log_softmax(dim=1)


def test_torchs_per_sample_gradient_recipe_runs_verbatim():
    """torch.func's tutorial: functional_call over (params, buffers), grad, vmap(in_dims),
    nll_loss with each example's label; equal to a loop of single-example backward passes."""
    mg.manual_seed(0)
    model = Net().double().eval()  # BatchNorm with running statistics (buffers)
    data = mg.tensor(rng.standard_normal((6, 1, 6, 6)))
    targets = mg.tensor(rng.integers(0, 5, 6))
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return nn.functional.nll_loss(predictions, target.unsqueeze(0))

    per_sample = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))(
        params, buffers, data, targets
    )
    for i in range(6):
        model.zero_grad()
        nn.functional.nll_loss(model(data[i : i + 1]), targets[i : i + 1]).backward()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[name].data[i], p.grad.data, atol=1e-13)


def test_functional_call_takes_torchs_form():
    model = Net().double().eval()
    x = mg.tensor(rng.standard_normal((2, 1, 6, 6)))
    buffers = {k: v.detach() + 1.0 for k, v in model.named_buffers() if v.dtype.kind == "f"}
    shifted = functional_call(model, buffers, x)  # one argument, not a tuple
    for name, value in buffers.items():  # the same as the model holding those buffers
        holder, attribute = name.rsplit(".", 1)
        getattr(model, holder).__dict__[attribute].data[...] = value.data
    np.testing.assert_allclose(shifted.data, model(x).data)
    with pytest.raises(mg.ArgumentError, match="strict=True and no tensors for"):
        functional_call(model, {"fc.bias": mg.zeros(5)}, (x,), strict=True)
    with pytest.raises(mg.ArgumentError, match="given in two dicts"):
        functional_call(model, ({"fc.bias": mg.zeros(5)}, {"fc.bias": mg.zeros(5)}), (x,))
    with pytest.raises(mg.ArgumentError, match="tie_weights=False is not supported"):
        functional_call(model, {}, (x,), tie_weights=False)


def test_grad_and_value_is_in_torchs_order():
    g, value = grad_and_value(lambda x: (x**2).sum())(mg.tensor([3.0]))
    assert value.item() == 9.0 and g.item() == 6.0


def test_an_ensemble_by_stack_module_state_and_vmap():
    mg.manual_seed(1)
    models = [nn.Linear(3, 2).double() for _ in range(4)]
    params, buffers = stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and buffers == {}
    x = mg.tensor(rng.standard_normal((5, 3)))

    def run(p, b, x):
        return functional_call(models[0], (p, b), (x,))

    out = vmap(run, in_dims=(0, 0, None))(params, buffers, x)
    for i, m in enumerate(models):
        np.testing.assert_allclose(out.data[i], m(x).data, rtol=1e-13)
    with pytest.raises(mg.ArgumentError, match="same architecture"):
        stack_module_state([nn.Linear(3, 2), nn.Linear(3, 3, bias=False)])


def test_the_torch_forms_that_minigrad_refuses_say_so():
    model = nn.Linear(3, 2)
    x = mg.randn(2, 3)
    with pytest.raises(mg.ArgumentError, match="a dict of tensors by name or a tuple of them"):
        functional_call(model, ({"bias": mg.zeros(2)}, [mg.zeros(2)]), (x,))
    with pytest.raises(mg.ArgumentError, match="randomness='different' is not supported"):
        mg.func.jacfwd(lambda t: t, randomness="different")
    with pytest.raises(mg.ArgumentError, match="at least one model"):
        stack_module_state([])
    with pytest.raises(mg.ArgumentError, match="of one kind"):
        stack_module_state([nn.Linear(3, 2), nn.Tanh()])
