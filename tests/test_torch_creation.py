"""The factories with PyTorch's signatures and values: sizes as varargs or one sequence,
``full``, ranges, ``from_numpy`` (shares memory), ``as_tensor`` (no copy when it can),
``*_like``, ``new_*``, and ``device=``. Expected values are PyTorch's documented ones."""

import numpy as np
import pytest

import minigrad as mg

# ----- sizes -------------------------------------------------------------------------------------

SIZED = [mg.zeros, mg.ones, mg.empty, mg.rand, mg.randn]


@pytest.mark.parametrize("make", SIZED, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "args, kwargs",
    [((2, 3), {}), (((2, 3),), {}), (([2, 3],), {}), ((), {"size": (2, 3)}),
     ((mg.zeros(2, 3).shape,), {})],
    ids=["varargs", "tuple", "list", "size=", "a shape"],
)  # fmt: skip
def test_size_as_varargs_a_sequence_or_size_keyword(make, args, kwargs):
    assert make(*args, **kwargs).shape == (2, 3)


@pytest.mark.parametrize("make", SIZED, ids=lambda f: f.__name__)
def test_size_given_twice_or_not_a_size_is_a_shape_error(make):
    with pytest.raises(mg.ShapeError, match="given twice"):
        make(2, size=(2,))
    with pytest.raises(mg.ShapeError, match=r"is not a shape"):
        make(2, -1)
    with pytest.raises(mg.ShapeError, match=r"is not a shape"):
        make((2.5,))
    with pytest.raises(TypeError, match="unexpected keyword argument 'layout'"):
        make(2, layout="strided")


def test_zeros_ones_full_eye_values():
    assert mg.zeros(2).tolist() == [0.0, 0.0] and mg.ones(1, 2).tolist() == [[1.0, 1.0]]
    assert mg.full((2, 2), 7).tolist() == [[7, 7], [7, 7]]
    assert mg.full([3], 1.5).tolist() == [1.5, 1.5, 1.5]
    assert mg.full((2,), mg.tensor(2.0)).tolist() == [2.0, 2.0]  # a 0-d tensor as the value
    assert mg.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert mg.eye(2).tolist() == [[1, 0], [0, 1]]
    assert mg.zeros(()).shape == () and mg.ones(0, 3).shape == (0, 3)


def test_requires_grad_keyword():
    assert mg.zeros(2, requires_grad=True).requires_grad
    assert mg.full((2,), 1.0, requires_grad=True).requires_grad
    with pytest.raises(mg.DTypeError, match="only floating-point tensors can require grad"):
        mg.full((2,), 1, requires_grad=True)  # int64: as PyTorch, an error


# ----- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [((5,), {}, [0, 1, 2, 3, 4]), ((1, 4), {}, [1, 2, 3]), ((0, 1, 0.25), {}, [0, 0.25, 0.5, 0.75]),
     ((5, 0, -2), {}, [5, 3, 1]), ((0.5, 2), {}, [0.5, 1.5]), ((), {"end": 3}, [0, 1, 2]),
     ((1,), {"stop": 3}, [1, 2]), ((2, 2), {}, [])],
    ids=["end", "start end", "float step", "negative step", "float start", "end=", "numpy stop=",
         "empty"],
)  # fmt: skip
def test_arange_values(args, kwargs, expected):
    assert mg.arange(*args, **kwargs).tolist() == expected


def test_arange_errors():
    with pytest.raises(mg.OpError, match="step must be nonzero"):
        mg.arange(0, 5, 0)
    with pytest.raises(mg.OpError, match="inconsistent with step sign"):
        mg.arange(5, 0)
    with pytest.raises(mg.OpError, match="end=3 and stop=4 name the same argument"):
        mg.arange(0, 3, stop=4)
    with pytest.raises(mg.DTypeError, match="end must be a real number"):
        mg.arange(0, "5")


def test_linspace_and_logspace():
    np.testing.assert_allclose(mg.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert mg.linspace(-1, 1, steps=3).tolist() == [-1, 0, 1]
    assert mg.linspace(0, 1, num=2).tolist() == [0, 1]  # numpy's num=
    assert mg.linspace(3, 3, 1).tolist() == [3] and mg.linspace(0, 1, 0).shape == (0,)
    np.testing.assert_allclose(mg.logspace(0, 2, 3).numpy(), [1, 10, 100])
    np.testing.assert_allclose(mg.logspace(0, 3, 4, base=2).numpy(), [1, 2, 4, 8])
    with pytest.raises(mg.OpError, match="give start, end and steps"):
        mg.linspace(0, 1)  # PyTorch 2.x has no default number of points
    with pytest.raises(mg.OpError, match="steps must be a non-negative int"):
        mg.linspace(0, 1, -1)


# ----- from data ---------------------------------------------------------------------------------


def test_tensor_copies_and_cuts_the_history():
    data = np.array([1.0, 2.0])
    t = mg.tensor(data)
    data[0] = 9
    assert t.tolist() == [1.0, 2.0]
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor(x * 2)
    assert y.is_leaf and not y.requires_grad and y.tolist() == [2.0, 4.0]


def test_tensor_options_are_keyword_only_as_pytorchs():
    with pytest.raises(TypeError):
        mg.tensor([1.0], True)
    t = mg.tensor([1.0], dtype=mg.float64, device="cpu", requires_grad=True, pin_memory=False)
    assert t.requires_grad and t.dtype == mg.float64


def test_from_numpy_shares_memory_both_ways():
    array = np.arange(4, dtype=np.int32)
    t = mg.from_numpy(array)
    assert t.dtype == np.int32 and np.shares_memory(t.numpy(), array)
    array[0] = 10
    assert t[0].item() == 10
    with mg.no_grad():
        t.add_(1)
    assert array.tolist() == [11, 2, 3, 4]


@pytest.mark.parametrize("not_an_array", [[1, 2], 3.0, mg.zeros(2)])
def test_from_numpy_takes_only_arrays(not_an_array):
    with pytest.raises(mg.DTypeError, match=r"from_numpy: expected np.ndarray \(got"):
        mg.from_numpy(not_an_array)


def test_as_tensor_does_not_copy_when_it_can():
    t = mg.tensor([1.0, 2.0], dtype=mg.float64)
    assert mg.as_tensor(t) is t and mg.as_tensor(t, dtype=mg.float64) is t
    other = mg.as_tensor(t, dtype=mg.float32)
    assert other is not t and other.dtype == mg.float32 and t.dtype == mg.float64
    array = np.zeros(3)
    shared = mg.as_tensor(array)
    assert np.shares_memory(shared.numpy(), array)  # as torch.as_tensor(ndarray)
    assert not np.shares_memory(mg.as_tensor(array, dtype=mg.float32).numpy(), array)
    assert mg.as_tensor([1, 2]).tolist() == [1, 2]


# ----- like another tensor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, value",
    [(mg.zeros_like, 0), (mg.ones_like, 1), (lambda x, **kw: mg.full_like(x, 3, **kw), 3)],
    ids=["zeros_like", "ones_like", "full_like"],
)
def test_like_factories_copy_shape_and_dtype_not_requires_grad(make, value):
    x = mg.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    t = make(x)
    assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
    assert (t.numpy() == value).all()
    assert make(x, dtype=mg.float64).dtype == np.float64
    assert make(x, requires_grad=True).requires_grad
    assert make(np.zeros((4, 1))).shape == (4, 1)


def test_empty_like_and_full_like_truncates_into_ints():
    assert mg.empty_like(mg.zeros(2, 3, dtype=mg.int32)).dtype == mg.int32
    assert mg.full_like(mg.arange(2), 2.7).tolist() == [2, 2]  # PyTorch's: tensor([2, 2])


def test_new_factories_keep_the_tensors_dtype():
    x = mg.zeros(2, dtype=mg.float64)
    assert x.new_zeros(3).dtype == mg.float64 and x.new_zeros(3).tolist() == [0, 0, 0]
    assert x.new_ones((2, 2)).shape == (2, 2) and x.new_ones(1).tolist() == [1.0]
    assert x.new_full((2,), 5).dtype == mg.float64 and x.new_full((2,), 5).tolist() == [5, 5]
    assert x.new_empty(4).shape == (4,) and x.new_empty(4).dtype == mg.float64
    assert x.new_tensor([1, 2]).dtype == mg.float64 and x.new_tensor([1, 2]).tolist() == [1, 2]
    assert x.new_zeros(2, dtype=mg.int64).dtype == mg.int64


# ----- device= -----------------------------------------------------------------------------------

FACTORY_CALLS = {
    "tensor": lambda d: mg.tensor([1.0], device=d),
    "as_tensor": lambda d: mg.as_tensor([1.0], device=d),
    "zeros": lambda d: mg.zeros(2, device=d),
    "ones": lambda d: mg.ones(2, device=d),
    "empty": lambda d: mg.empty(2, device=d),
    "full": lambda d: mg.full((2,), 1.0, device=d),
    "eye": lambda d: mg.eye(2, device=d),
    "arange": lambda d: mg.arange(3, device=d),
    "linspace": lambda d: mg.linspace(0, 1, 3, device=d),
    "zeros_like": lambda d: mg.zeros_like(mg.zeros(2), device=d),
    "rand": lambda d: mg.rand(2, device=d),
    "randn": lambda d: mg.randn(2, device=d),
    "randint": lambda d: mg.randint(0, 3, (2,), device=d),
    "randperm": lambda d: mg.randperm(3, device=d),
    "randn_like": lambda d: mg.randn_like(mg.zeros(2), device=d),
    "new_zeros": lambda d: mg.zeros(2).new_zeros(2, device=d),
}


@pytest.mark.parametrize("make", FACTORY_CALLS.values(), ids=list(FACTORY_CALLS))
@pytest.mark.parametrize("device", ["cpu", "cpu:0", mg.device("cpu"), None])
def test_factories_take_the_cpu(make, device):
    assert make(device).device == "cpu"


@pytest.mark.parametrize("make", FACTORY_CALLS.values(), ids=list(FACTORY_CALLS))
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_factories_refuse_a_gpu_saying_why(make, device):
    with pytest.raises(mg.errors.DeviceError, match=r"minigrad computes with numpy on the CPU"):
        make(device)
