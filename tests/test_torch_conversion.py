"""Conversions and devices as PyTorch's: ``x.to(...)`` in all its forms (the tensor itself when
nothing changes), ``.float()`` and friends, ``type``/``type_as``, ``device``/``mg.cuda``, the
GPU errors, ``Module.to``/``.double()`` (in place, Parameters keep their identity) and a
layer's rule for inputs of another dtype."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DeviceError

# ----- to ----------------------------------------------------------------------------------------


def test_to_returns_the_tensor_itself_when_nothing_changes():
    x = mg.zeros(3, dtype=mg.float32)
    for same in (x.to(mg.float32), x.to("cpu"), x.to(mg.device("cpu")), x.to(x), x.float(),
                 x.to("cpu", mg.float32), x.to(device="cpu", dtype=mg.float32), x.cpu(),
                 x.type(mg.float32), x.type_as(mg.ones(1, dtype=mg.float32))):  # fmt: skip
        assert same is x


def test_to_with_copy_makes_a_copy():
    x = mg.tensor([1.0, 2.0], dtype=mg.float32)
    for copied in (x.to(mg.float32, copy=True), x.to(mg.float32, False, True)):
        assert copied is not x and copied.tolist() == [1.0, 2.0]
        assert not np.shares_memory(copied.numpy(), x.numpy())


@pytest.mark.parametrize(
    "call, dtype",
    [(lambda x: x.to(mg.float64), np.float64), (lambda x: x.to("cpu", mg.int32), np.int32),
     (lambda x: x.to(device="cpu", dtype=mg.half), np.float16),
     (lambda x: x.to(mg.zeros(1, dtype=mg.int64)), np.int64),
     (lambda x: x.to(mg.float64, non_blocking=True), np.float64),
     (lambda x: x.to("float64"), np.float64), (lambda x: x.to(float), np.float64),
     (lambda x: x.double(), np.float64), (lambda x: x.float(), np.float32),
     (lambda x: x.half(), np.float16), (lambda x: x.long(), np.int64),
     (lambda x: x.int(), np.int32), (lambda x: x.short(), np.int16),
     (lambda x: x.char(), np.int8), (lambda x: x.byte(), np.uint8),
     (lambda x: x.bool(), np.bool_), (lambda x: x.cfloat(), np.complex64),
     (lambda x: x.cdouble(), np.complex128)],
    ids=["to(dtype)", "to(device, dtype)", "to(device=, dtype=)", "to(other)", "non_blocking",
         "numpy string", "Python float", "double", "float", "half", "long", "int", "short",
         "char", "byte", "bool", "cfloat", "cdouble"],
)  # fmt: skip
def test_conversions_give_pytorchs_dtypes(call, dtype):
    x = mg.tensor([0.0, 1.5, -2.5], dtype=mg.float32)
    y = call(x)
    assert y.dtype == dtype
    assert y.tolist() == np.array([0.0, 1.5, -2.5], np.float32).astype(dtype).tolist()


def test_a_float_cast_is_differentiable_an_integer_cast_is_a_constant():
    """d/dx sum(3 * double(x)) = 3, delivered in x's own dtype (float32), as PyTorch's
    ToCopyBackward; ``long()`` of a tensor that requires grad does not require grad."""
    x = mg.tensor([1.0, 2.0], dtype=mg.float32, requires_grad=True)
    (3 * x.double()).sum().backward()
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [3.0, 3.0]
    assert not x.long().requires_grad and not x.bool().requires_grad


def test_to_errors():
    x = mg.zeros(2)
    with pytest.raises(mg.DTypeError, match="neither a device .* nor a dtype"):
        x.to("banana")
    with pytest.raises(mg.OpError, match="unexpected keyword arguments"):
        x.to(mg.float32, pin=True)


# ----- type and type_as --------------------------------------------------------------------------

TYPE_NAMES = {
    mg.float32: "minigrad.FloatTensor", mg.float64: "minigrad.DoubleTensor",
    mg.float16: "minigrad.HalfTensor", mg.int64: "minigrad.LongTensor",
    mg.int32: "minigrad.IntTensor", mg.int16: "minigrad.ShortTensor",
    mg.int8: "minigrad.CharTensor", mg.uint8: "minigrad.ByteTensor",
    mg.bool: "minigrad.BoolTensor", mg.complex64: "minigrad.ComplexFloatTensor",
}  # fmt: skip


@pytest.mark.parametrize("dtype, name", TYPE_NAMES.items(), ids=list(TYPE_NAMES.values()))
def test_type_names_are_pytorchs_legacy_names(dtype, name):
    """PyTorch's ``x.type()`` is ``'torch.FloatTensor'`` for float32, and so on."""
    x = mg.zeros(2, dtype=dtype)
    assert x.type() == name
    assert mg.zeros(2).type(name).dtype == dtype
    assert mg.zeros(2).type(name.replace("minigrad.", "torch.")).dtype == dtype


def test_type_and_type_as_cast():
    x = mg.tensor([1.7, -1.2], dtype=mg.float32)
    assert x.type(mg.float64).dtype == mg.float64 and x.type(mg.int64).tolist() == [1, -1]
    assert x.type_as(mg.arange(2)).dtype == mg.int64
    with pytest.raises(mg.DTypeError, match="unknown tensor type 'torch.QuantizedTensor'"):
        x.type("torch.QuantizedTensor")
    with pytest.raises(mg.DTypeError, match="type_as: expected a Tensor, got ndarray"):
        x.type_as(np.zeros(2))


# ----- devices -----------------------------------------------------------------------------------


def test_a_tensor_is_on_the_cpu():
    x = mg.zeros(2)
    assert x.device == "cpu" and x.device == mg.device("cpu") and str(x.device) == "cpu"
    assert repr(x.device) == "device(type='cpu')" and x.device.type == "cpu"
    assert x.device.index is None and not x.is_cuda and x.is_cpu and x.get_device() == -1


def test_the_device_class():
    d = mg.device("cpu:0")
    assert (d.type, d.index, str(d), repr(d)) == ("cpu", 0, "cpu:0", "device(type='cpu', index=0)")
    assert d == mg.device("cpu", 0) == "cpu:0" and d != mg.device("cpu")  # as PyTorch's
    assert mg.device(d) == d and hash(mg.device("cpu")) == hash(mg.device("cpu"))
    assert {mg.device("cpu"): 1}[mg.device("cpu")] == 1
    assert mg.device("cuda", 1).index == 1  # a device may be named, not used
    with pytest.raises(DeviceError, match=r"device\(0\): a bare index names an accelerator"):
        mg.device(0)  # PyTorch 2.13: "Cannot access accelerator device when none is available"
    with mg.device("cpu"):
        assert mg.zeros(1).device == "cpu"
    with pytest.raises(DeviceError, match="expected one of cpu, cuda.* device string: 'gpu'"):
        mg.device("gpu")
    with pytest.raises(DeviceError, match="invalid device string 'cpu:x'"):
        mg.device("cpu:x")


@pytest.mark.parametrize(
    "call",
    [lambda x: x.to("cuda"), lambda x: x.to("cuda:0"), lambda x: x.to("mps"),
     lambda x: x.to(mg.device("cuda")), lambda x: x.cuda(), lambda x: x.to("cuda", mg.float64),
     lambda x: mg.zeros(2, device="cuda"), lambda x: mg.tensor([1.0], device="cuda:1")],
    ids=["to(cuda)", "to(cuda:0)", "to(mps)", "to(device)", "cuda()", "to(cuda, dtype)",
         "zeros(device=)", "tensor(device=)"],
)  # fmt: skip
def test_asking_for_a_gpu_is_an_error_that_says_why_and_what_to_do(call):
    with pytest.raises(DeviceError) as info:
        call(mg.zeros(2))
    message = str(info.value)
    assert "minigrad computes with numpy on the CPU" in message
    assert "use device='cpu'" in message
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, mg.MinigradError)


def test_cuda_and_backends_read_as_on_a_machine_without_a_gpu():
    assert mg.cuda.is_available() is False and mg.cuda.device_count() == 0
    assert not mg.cuda.is_initialized()
    mg.cuda.manual_seed(0)  # ignored, as PyTorch's without CUDA
    mg.cuda.manual_seed_all(0)
    mg.cuda.empty_cache()
    with pytest.raises(DeviceError, match="cuda.current_device"):
        mg.cuda.current_device()
    assert mg.backends.mps.is_available() is False and not mg.backends.mps.is_built()
    mg.backends.cudnn.deterministic = True  # what seeded scripts set: accepted
    assert mg.backends.cudnn.deterministic and not mg.backends.cudnn.is_available()
    device = "cuda" if mg.cuda.is_available() else "cpu"  # the usual line picks the CPU
    assert mg.zeros(1, device=device).device == "cpu"


# ----- Module.to ---------------------------------------------------------------------------------


def model(dtype=mg.float32):
    return nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.BatchNorm1d(4, dtype=dtype),
                         nn.Linear(4, 2, dtype=dtype))  # fmt: skip


def test_module_to_casts_in_place_keeping_the_parameter_objects():
    net = model()
    params = list(net.parameters())
    x = mg.tensor(np.ones((5, 3)))  # float64
    net(x.float()).sum().backward()
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net[1].running_mean.dtype == np.float64 and net[1].running_var.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # integer buffers are left alone
    assert net(x).dtype == np.float64
    for cast, dtype in [(net.float, np.float32), (net.half, np.float16),
                        (lambda: net.to(mg.float64), np.float64),
                        (lambda: net.to("cpu", mg.float32), np.float32),
                        (lambda: net.to(mg.zeros(1, dtype=mg.float64)), np.float64)]:  # fmt: skip
        assert cast() is net and all(p.dtype == dtype for p in params)


def test_an_optimizer_made_before_module_to_keeps_training_the_parameters():
    net = model()
    optimizer = mg.optim.SGD(net.parameters(), lr=0.1)
    net.double()
    before = [p.numpy().copy() for p in net.parameters()]
    net(np.ones((5, 3))).sum().backward()
    optimizer.step()
    after = list(net.parameters())
    assert all(p.dtype == np.float64 for p in after)
    assert any(not np.array_equal(a.numpy(), b) for a, b in zip(after, before))


def test_module_to_and_friends_return_the_module():
    net = model()
    assert net.to("cpu") is net and net.cpu() is net and net.to(mg.device("cpu")) is net
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_module_type_casts_every_tensor_as_pytorchs():
    net = model()
    assert net.type(mg.float64) is net
    assert net[1].num_batches_tracked.dtype == np.float64  # Module.type casts buffers of any kind
    with pytest.raises(mg.DTypeError, match="untrainable"):
        net.type(mg.int64)


def test_module_to_refusals():
    net = model()
    with pytest.raises(mg.DTypeError, match="only floating-point or complex dtypes, got int64"):
        net.to(mg.int64)
    with pytest.raises(DeviceError, match="minigrad computes with numpy"):
        net.to("cuda")
    with pytest.raises(DeviceError, match="minigrad computes with numpy"):
        net.cuda()
    assert all(p.dtype == np.float32 for p in net.parameters())  # nothing changed


def test_module_to_in_the_middle_of_a_graph_is_caught_by_backward():
    net = model(mg.float64)
    loss = net(np.ones((5, 3))).sum()
    net.float()
    with pytest.raises(mg.BackwardError, match="modified in place"):
        loss.backward()


# ----- a layer's input of another dtype ----------------------------------------------------------


@pytest.mark.parametrize(
    "layer, shape",
    [(lambda: nn.Linear(3, 2, dtype=mg.float32), (4, 3)),
     (lambda: nn.Conv2d(1, 2, 3, dtype=mg.float32), (1, 1, 5, 5))],
    ids=["Linear", "Conv2d"],
)  # fmt: skip
def test_a_wider_tensor_input_is_an_error_as_in_pytorch(layer, shape):
    """PyTorch: "mat1 and mat2 must have the same dtype". minigrad names both fixes."""
    f = layer()
    for bad in (mg.ones(shape, dtype=mg.float64), mg.ones(shape, dtype=mg.int64)):
        with pytest.raises(mg.DTypeError) as info:
            f(bad)
        assert "must have the same dtype" in str(info.value)
        assert "x.float()" in str(info.value) and "model.double()" in str(info.value)
    assert f(mg.ones(shape, dtype=mg.float64).float()).dtype == mg.float32  # the fix


def test_functional_linear_and_conv2d_apply_the_same_rule():
    w = mg.ones(2, 3, dtype=mg.float32)
    with pytest.raises(mg.DTypeError, match="linear: the input is float64 and the weight float32"):
        nn.functional.linear(mg.ones(4, 3, dtype=mg.float64), w)
    k = mg.ones(1, 1, 2, 2, dtype=mg.float32)
    with pytest.raises(mg.DTypeError, match="conv2d: the input is float64"):
        nn.functional.conv2d(mg.ones(1, 1, 3, 3, dtype=mg.float64), k)


def test_arrays_and_lists_take_the_layers_dtype():
    layer = nn.Linear(3, 2, dtype=mg.float32)
    data = np.ones((4, 3))  # float64
    expected = data @ layer.weight.numpy().T.astype(np.float64) + layer.bias.numpy()
    for given in (data, data.tolist(), np.ones((4, 3), dtype=np.int64)):
        out = layer(given)
        assert out.dtype == mg.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert nn.Conv2d(1, 2, 3, dtype=mg.float32)(np.ones((1, 1, 4, 4))).dtype == mg.float32


def test_a_narrower_input_is_computed_in_the_layers_dtype():
    """What minigrad's float64 checks do to a float32 script's model: float32 data into a
    float64 copy of the model gives float64 (PyTorch would refuse; documented)."""
    layer = nn.Linear(3, 2, dtype=mg.float64)
    x = mg.ones(4, 3, dtype=mg.float32, requires_grad=True)
    out = layer(x)
    assert out.dtype == mg.float64
    out.sum().backward()
    assert x.grad.dtype == mg.float32  # a leaf's gradient has the leaf's dtype
    np.testing.assert_allclose(x.grad.numpy(), np.tile(layer.weight.numpy().sum(0), (4, 1)))
