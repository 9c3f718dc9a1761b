"""PyTorch's autograd surface: tensor hooks, module hooks, autograd.Function, inference_mode,
and the error for what minigrad lacks. Expected values are PyTorch's, worked out by hand."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import Function


def f64(values, requires_grad=False):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----- Tensor.register_hook ----------------------------------------------------------------------


def test_a_hook_sees_the_gradient_and_its_result_flows_on():
    """h = 3x, L = sum(h^2): dL/dh = 2h = [6, 12]; the hook doubles it, so x.grad = 3 * [12, 24]
    and h.grad (retain_grad) holds the hooked value, as PyTorch's retains_grad runs last."""
    x = f64([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.register_hook(lambda g: g * 2)
    (h * h).sum().backward()
    assert seen == [[6.0, 12.0]]
    assert h.grad.tolist() == [12.0, 24.0] and x.grad.tolist() == [36.0, 72.0]
    assert h.retains_grad and not x.retains_grad


def test_a_leaf_hook_runs_before_accumulation_and_can_be_removed():
    x = f64([1.0, -1.0], requires_grad=True)
    handle = x.register_hook(lambda g: g + 1)
    (x * 5).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    handle.remove()
    handle.remove()  # a second remove does nothing, as PyTorch's
    (x * 5).sum().backward()
    assert x.grad.tolist() == [11.0, 11.0]  # accumulated: 6 + 5


@pytest.mark.parametrize("create_graph", [False, True])
def test_hooks_work_in_both_kinds_of_backward_pass(create_graph):
    """In a recorded pass the hook's result stays on the tape: d/dx of the hooked gradient."""
    x = f64([2.0], requires_grad=True)
    y = x**3
    y.register_hook(lambda g: g * 10)
    (gx,) = mg.autograd.grad(y.sum(), [x], create_graph=create_graph)
    assert gx.tolist() == [120.0]  # 10 * 3 x^2
    if create_graph:
        (gxx,) = mg.autograd.grad(gx.sum(), [x])
        assert gxx.tolist() == [120.0]  # d/dx (30 x^2) = 60 x


def test_hook_errors_are_clear():
    with pytest.raises(mg.BackwardError, match="does not require grad"):
        f64([1.0]).register_hook(lambda g: g)
    x = f64([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(mg.BackwardError, match=r"returned a gradient of shape \(\) for a tensor "
                       r"of shape \(2,\)"):  # fmt: skip
        (x * 2).sum().backward()
    with pytest.raises(TypeError, match="must be callable"):
        x.register_hook(3)


# ----- Module hooks ------------------------------------------------------------------------------


def linear_with(weight, bias):
    layer = nn.Linear(len(weight[0]), len(weight), dtype=np.float64)
    with mg.no_grad():
        layer.weight.copy_(np.asarray(weight, dtype=np.float64))
        layer.bias.copy_(np.asarray(bias, dtype=np.float64))
    return layer


def test_forward_hooks_run_in_pytorchs_order_and_may_replace():
    layer = linear_with([[1.0, 2.0]], [0.5])
    calls = []
    layer.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 2,))
    layer.register_forward_hook(lambda m, args, out: calls.append("post") or out + 100)
    first = layer.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    out = layer(f64([[1.0, 1.0]]))
    assert calls == ["pre", "first", "post"]
    assert out.tolist() == [[106.5]]  # (2 + 4) + 0.5 + 100
    first.remove()
    calls.clear()
    layer(f64([[1.0, 1.0]]))
    assert calls == ["pre", "post"]


def test_a_forward_pre_hook_with_kwargs():
    layer = linear_with([[1.0]], [0.0])

    def scale(module, args, kwargs):
        return (args[0] * 3,), kwargs

    layer.register_forward_pre_hook(scale, with_kwargs=True)
    assert layer(f64([[2.0]])).tolist() == [[6.0]]


def test_full_backward_hook_sees_this_modules_gradients_only():
    """y = W x + b with W = [[1, 2], [3, 4]], L = sum(y * [1, 10]) + sum(x): the hook's
    grad_output is [1, 10] and grad_input is W^T [1, 10] = [31, 42] (the + sum(x) outside the
    module is not in it), while x.grad has both: [32, 43]."""
    layer = linear_with([[1.0, 2.0], [3.0, 4.0]], [0.0, 0.0])
    seen = []
    layer.register_full_backward_hook(
        lambda m, gi, go: seen.append(([g.tolist() for g in gi], [g.tolist() for g in go]))
    )
    x = f64([[1.0, 1.0]], requires_grad=True)
    loss = (layer(x) * f64([1.0, 10.0])).sum() + x.sum()
    loss.backward()
    assert seen == [([[[31.0, 42.0]]], [[[1.0, 10.0]]])]
    assert x.grad.tolist() == [[32.0, 43.0]]


def test_full_backward_hook_can_replace_grad_input():
    layer = linear_with([[2.0]], [0.0])
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = f64([[1.0]], requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.tolist() == [[0.0]] and layer.weight.grad.tolist() == [[1.0]]


def test_full_backward_hook_without_an_input_that_requires_grad():
    """The first layer's input is data: grad_input is (None,), grad_output is still given."""
    layer = linear_with([[2.0]], [0.0])
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].tolist())))
    layer(f64([[1.0]])).sum().backward()
    assert seen == [((None,), [[1.0]])]


# ----- autograd.Function -------------------------------------------------------------------------


class ScaledExp(Function):
    @staticmethod
    def forward(ctx, x, scale):
        y = x.exp() * scale
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y, None


def test_a_function_records_one_node_and_calls_its_backward():
    x = f64([0.0, 1.0], requires_grad=True)
    y = ScaledExp.apply(x, 2.0)
    assert y.grad_fn == "ScaledExpNode" and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * np.exp([0.0, 1.0]))
    assert mg.gradcheck(lambda t: ScaledExp.apply(t, 3.0).sum(), f64([0.5, -0.5]))
    # backward is written in Tensor ops, so second derivatives follow (d2/dx2 = 3 e^x)
    assert mg.gradgradcheck(lambda t: ScaledExp.apply(t, 3.0), f64([0.5, -0.5]))


def test_a_function_sees_needs_input_grad_and_runs_forward_unrecorded():
    seen = {}

    class Peek(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            seen["recording"] = mg.is_grad_enabled()
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    Peek.apply(f64([1.0], requires_grad=True), f64([2.0]))
    assert seen == {"needs": (True, False), "recording": False}


def test_function_errors_are_clear():
    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = f64([1.0], requires_grad=True)
    with pytest.raises(mg.OpError, match="returned 2 values; minigrad's Function records one"):
        TwoOut.apply(x)
    with pytest.raises(mg.BackwardError, match="returned 2 gradients for 1 inputs"):
        WrongCount.apply(x).sum().backward()
    with pytest.raises(mg.BackwardError, match="defines no jvp"):
        mg.jvp(lambda t: WrongCount.apply(t), (f64([1.0]),), (f64([1.0]),))


# ----- modes and missing names -------------------------------------------------------------------


def test_inference_mode_records_nothing():
    x = f64([1.0], requires_grad=True)
    with mg.inference_mode():
        assert not (x * 2).requires_grad
    with mg.inference_mode(False):
        assert (x * 2).requires_grad

    @mg.inference_mode()
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad


@pytest.mark.parametrize(
    "reach, name",
    [
        (lambda: mg.fft, "torch.fft"),
        (lambda: mg.nn.Bilinear, "torch.nn.Bilinear"),
        (lambda: mg.optim.SparseAdam, "torch.optim.SparseAdam"),
        (lambda: mg.nn.functional.gumbel_softmax, "torch.nn.functional.gumbel_softmax"),
        (lambda: mg.nn.init.xyz_, "torch.nn.init.xyz_"),
        (lambda: mg.nn.utils.spectral_norm, "torch.nn.utils.spectral_norm"),
        (lambda: mg.optim.lr_scheduler.ConstantLR, "torch.optim.lr_scheduler.ConstantLR"),
        (lambda: mg.autograd.functional, "torch.autograd.functional"),
        (lambda: mg.utils.data.DistributedSampler, "torch.utils.data.DistributedSampler"),
    ],
)
def test_a_name_minigrad_lacks_is_named_as_pytorchs(reach, name):
    with pytest.raises(mg.MissingFeatureError, match=rf"minigrad has no `{name}`"):
        reach()
    assert issubclass(mg.MissingFeatureError, AttributeError)  # hasattr() stays False


def test_a_missing_tensor_method_is_pythons_attribute_error():
    """Tensor keeps CPython's fast attribute access (no __getattr__), so a method it lacks gives
    Python's own message, which names the class and the method."""
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute 'stft'"):
        mg.tensor([1.0]).stft  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute '_private'") as info:
        mg._private  # noqa: B018
    assert not isinstance(info.value, mg.MissingFeatureError)
