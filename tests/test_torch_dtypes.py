"""dtypes as PyTorch's: the dtype objects, the default dtype (float32, ``set_default_dtype``),
what dtype each way of making a tensor gives, layers' parameters, repr, ``finfo``/``iinfo``.

The expected dtypes are PyTorch 2.x's documented ones (``torch.tensor``, the factories' "dtype:
the desired data type ... Default: if None, uses a global default"), written in.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

# ----- the dtype objects -------------------------------------------------------------------------

NAMES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "int64": np.int64, "long": np.int64,
    "int32": np.int32, "int": np.int32, "int16": np.int16, "short": np.int16, "int8": np.int8,
    "uint8": np.uint8, "bool": np.bool_, "complex64": np.complex64, "cfloat": np.complex64,
    "complex128": np.complex128, "cdouble": np.complex128,
}  # fmt: skip


@pytest.mark.parametrize("name, numpy_type", NAMES.items(), ids=list(NAMES))
def test_dtype_objects_are_numpy_dtypes_under_pytorchs_names(name, numpy_type):
    dtype = getattr(mg, name)
    assert isinstance(dtype, np.dtype) and dtype == np.dtype(numpy_type)
    assert mg.zeros(2, dtype=dtype).dtype == dtype
    assert mg.zeros(2, dtype=dtype).dtype == numpy_type  # numpy's types still compare


def test_int_is_int32_as_in_pytorch_not_pythons_int():
    assert mg.int == np.int32 and mg.long == np.int64
    assert mg.tensor([1.5, 2.7]).int().dtype == mg.int32


@pytest.mark.parametrize(
    "given, expected",
    [(mg.float64, np.float64), (np.float32, np.float32), ("float16", np.float16),
     (np.dtype("int32"), np.int32), (float, np.float64), (int, np.int64), (bool, np.bool_)],
    ids=["mg dtype", "numpy type", "string", "np.dtype", "Python float", "Python int",
         "Python bool"],
)  # fmt: skip
def test_every_form_of_dtype_is_accepted(given, expected):
    """As PyTorch: dtype=float is float64, dtype=int int64 (Python's types)."""
    for make in (mg.tensor, mg.Tensor):
        assert make([1, 0], dtype=given).dtype == expected
    assert mg.ones(2, dtype=given).dtype == expected
    assert mg.zeros(1).to(given).dtype == expected


@pytest.mark.parametrize("bad", ["cpu", "floaty", object, "U3"])
def test_a_non_dtype_is_a_dtype_error_listing_the_dtypes(bad):
    with pytest.raises(mg.DTypeError, match=r"zeros: .* is not a dtype .* mg\.float32"):
        mg.zeros(2, dtype=bad)


# ----- the default dtype -------------------------------------------------------------------------


def test_the_real_default_is_float32(float32_default):
    assert mg.get_default_dtype() == mg.float32


def test_the_unit_tests_run_with_float64(float64_default):
    """conftest.py sets float64 for the unit tests, as PyTorch's test suite does."""
    assert mg.get_default_dtype() == mg.float64


@pytest.mark.parametrize("dtype", [mg.float64, "float16", np.float32])
def test_set_default_dtype_takes_floating_dtypes(dtype):
    mg.set_default_dtype(dtype)
    assert mg.get_default_dtype() == np.dtype(dtype)
    assert mg.tensor(1.5).dtype == np.dtype(dtype) and mg.randn(2).dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [mg.int64, mg.bool, mg.complex64, "cpu"])
def test_set_default_dtype_refuses_others(dtype):
    with pytest.raises(mg.DTypeError, match="set_default_dtype"):
        mg.set_default_dtype(dtype)
    assert mg.get_default_dtype() == mg.float64  # unchanged


# ----- what mg.tensor gives ----------------------------------------------------------------------

F32 = [
    (1.5, np.float32),
    ([1.0, 2.0], np.float32),
    ([[1.0, 2.0], [3.0, 4.0]], np.float32),
    ([1, 2.5], np.float32),  # mixed ints and floats: float
    ((0.5, 1.5), np.float32),
    ([], np.float32),  # as torch.tensor([])
    (3, np.int64),
    ([[1, 2], [3, 4]], np.int64),
    ([True, False], np.bool_),
    ([True, 2], np.int64),
    (1 + 2j, np.complex64),  # complex pairs with the default: complex64 for float32
    (np.arange(3.0), np.float64),  # a numpy array keeps its dtype
    (np.arange(3, dtype=np.float32), np.float32),
    (np.arange(3, dtype=np.int32), np.int32),
    (np.float64(1.5), np.float64),  # so does a numpy scalar
]


@pytest.mark.parametrize("data, dtype", F32, ids=[repr(d) for d, _ in F32])
@pytest.mark.parametrize("make", [mg.tensor, mg.Tensor, mg.as_tensor], ids=lambda f: f.__name__)
def test_dtype_of_data_under_the_float32_default(make, data, dtype, float32_default):
    assert make(data).dtype == dtype


@pytest.mark.parametrize(
    "data, dtype",
    [(1.5, np.float64), ([1, 2.5], np.float64), (1j, np.complex128), (3, np.int64),
     (np.arange(3, dtype=np.float32), np.float32)],
)  # fmt: skip
def test_dtype_of_data_follows_set_default_dtype(data, dtype):
    mg.set_default_dtype(mg.float64)
    assert mg.tensor(data).dtype == dtype


def test_tensors_in_a_list_keep_their_dtype(float32_default):
    """As ``torch.tensor([t1, t2])`` of float64 tensors: float64, not the default."""
    pieces = [mg.tensor(1.0, dtype=mg.float64), mg.tensor(2.0, dtype=mg.float64)]
    assert mg.tensor(pieces).dtype == mg.float64
    assert mg.tensor([np.zeros(2), np.ones(2)]).dtype == mg.float64


# ----- what the factories give -------------------------------------------------------------------

FACTORIES = {
    "zeros": (lambda: mg.zeros(2, 3), np.float32),
    "ones": (lambda: mg.ones((2,)), np.float32),
    "empty": (lambda: mg.empty(2), np.float32),
    "full float": (lambda: mg.full((2, 2), 7.0), np.float32),
    "full int": (lambda: mg.full((2, 2), 7), np.int64),  # PyTorch infers from fill_value
    "full bool": (lambda: mg.full((2,), True), np.bool_),
    "full complex": (lambda: mg.full((2,), 1 + 1j), np.complex64),
    "eye": (lambda: mg.eye(3), np.float32),
    "arange ints": (lambda: mg.arange(5), np.int64),
    "arange float start": (lambda: mg.arange(0.5, 2), np.float32),
    "arange float step": (lambda: mg.arange(0, 5, 0.5), np.float32),
    "arange numpy float": (lambda: mg.arange(np.float64(3)), np.float32),
    "arange 0-d int tensor": (lambda: mg.arange(mg.tensor(3)), np.int64),
    "linspace": (lambda: mg.linspace(0, 1, 5), np.float32),
    "logspace": (lambda: mg.logspace(0, 2, 3), np.float32),
    "rand": (lambda: mg.rand(2), np.float32),
    "randn": (lambda: mg.randn(2, 3), np.float32),
    "normal": (lambda: mg.normal(0.0, 1.0, size=(2,)), np.float32),
    "randint": (lambda: mg.randint(0, 5, (3,)), np.int64),
    "randperm": (lambda: mg.randperm(4), np.int64),
    "multinomial": (lambda: mg.multinomial(mg.tensor([0.2, 0.8]), 2), np.int64),
    "zeros_like keeps": (lambda: mg.zeros_like(mg.zeros(2, dtype=mg.float64)), np.float64),
    "rand_like keeps": (lambda: mg.rand_like(mg.zeros(2, dtype=mg.float64)), np.float64),
    "full_like keeps int": (lambda: mg.full_like(mg.arange(2), 2.7), np.int64),
    "bernoulli keeps": (lambda: mg.bernoulli(mg.full((3,), 0.5, dtype=mg.float64)), np.float64),
}


@pytest.mark.parametrize("make, dtype", FACTORIES.values(), ids=list(FACTORIES))
def test_factory_dtypes_under_the_float32_default(make, dtype, float32_default):
    assert make().dtype == dtype


@pytest.mark.parametrize("name", ["zeros", "ones", "rand", "randn", "eye", "linspace"])
def test_floating_factories_follow_set_default_dtype(name):
    make = FACTORIES[name][0]
    mg.set_default_dtype(mg.float16)
    assert make().dtype == np.float16
    mg.set_default_dtype(mg.float64)
    assert make().dtype == np.float64
    assert FACTORIES["arange ints"][0]().dtype == np.int64  # inference is not the default


def test_an_explicit_dtype_wins(float32_default):
    assert mg.full((2,), 7, dtype=mg.float64).dtype == np.float64
    assert mg.arange(5, dtype=mg.float32).dtype == np.float32
    assert mg.randint(0, 5, (3,), dtype=mg.float32).dtype == np.float32
    assert mg.zeros_like(mg.arange(2), dtype=mg.float64).dtype == np.float64


# ----- layers ------------------------------------------------------------------------------------

LAYERS = {
    "Linear": lambda **kw: nn.Linear(3, 2, **kw),
    "Conv2d": lambda **kw: nn.Conv2d(1, 2, 3, **kw),
    "Embedding": lambda **kw: nn.Embedding(4, 2, **kw),
    "BatchNorm1d": lambda **kw: nn.BatchNorm1d(3, **kw),
    "LayerNorm": lambda **kw: nn.LayerNorm(3, **kw),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=list(LAYERS))
def test_layers_take_the_default_dtype_as_pytorchs(make, float32_default):
    assert {p.dtype for p in make().parameters()} == {np.dtype(np.float32)}
    mg.set_default_dtype(mg.float64)
    assert {p.dtype for p in make().parameters()} == {np.dtype(np.float64)}
    assert {p.dtype for p in make(dtype=mg.float32).parameters()} == {np.dtype(np.float32)}


def test_batchnorm_running_stats_follow_and_its_counter_stays_int64(float32_default):
    layer = nn.BatchNorm1d(3)
    assert layer.running_mean.dtype == np.float32 and layer.running_var.dtype == np.float32
    assert layer.num_batches_tracked.dtype == np.int64


@pytest.mark.parametrize("make", LAYERS.values(), ids=list(LAYERS))
def test_an_integer_parameter_dtype_is_refused(make):
    with pytest.raises(mg.DTypeError, match="must be floating point, got int64"):
        make(dtype=mg.int64)


# ----- repr, limits, predicates ------------------------------------------------------------------


def test_repr_hides_the_dtype_that_mg_tensor_would_give(float32_default):
    """As PyTorch's repr: the default float dtype, int64, bool (and the paired complex) are not
    shown; any other dtype is."""
    assert repr(mg.tensor([1.5, 2.0])) == "tensor([1.5, 2. ])"
    assert repr(mg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(mg.tensor([True])) == "tensor([ True])"
    assert repr(mg.tensor([1.5], dtype=mg.float64)) == "tensor([1.5], dtype=float64)"
    assert repr(mg.tensor([1], dtype=mg.int32)) == "tensor([1], dtype=int32)"
    mg.set_default_dtype(mg.float64)
    assert repr(mg.tensor([1.5])) == "tensor([1.5])"
    assert repr(mg.tensor([1.5], dtype=mg.float32)) == "tensor([1.5], dtype=float32)"


def test_finfo_and_iinfo_are_pytorchs_numbers(float32_default):
    assert mg.finfo().eps == np.float32(1.1920928955078125e-07)  # the default dtype's
    assert mg.finfo(mg.float64).eps == 2.220446049250313e-16
    assert mg.finfo(mg.float16).max == 65504.0
    assert mg.iinfo(mg.int32).max == 2147483647 and mg.iinfo(mg.int8).min == -128
    with pytest.raises(mg.DTypeError, match="finfo"):
        mg.finfo("cpu")


def test_is_floating_point_is_complex_is_tensor():
    x = mg.zeros(2)
    assert x.is_floating_point() and mg.is_floating_point(x) and not x.is_complex()
    assert not mg.arange(2).is_floating_point() and not mg.tensor([True]).is_floating_point()
    assert mg.tensor(1j).is_complex() and mg.is_complex(mg.tensor(1j))
    assert mg.is_tensor(x) and mg.is_tensor(nn.Parameter(x)) and not mg.is_tensor(x.numpy())
    with pytest.raises(mg.DTypeError, match="is_floating_point: expected a Tensor, got list"):
        mg.is_floating_point([1.0])


@pytest.mark.parametrize("dtype, size", [(mg.float32, 4), (mg.float64, 8), (mg.half, 2),
                                         (mg.int8, 1), (mg.bool, 1), (mg.cfloat, 8)])  # fmt: skip
def test_element_size(dtype, size):
    assert mg.zeros(3, dtype=dtype).element_size() == size
