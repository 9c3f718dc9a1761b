"""The Tensor API and the creation functions: dtypes, shapes, randomness, attributes, conversions,
repr, comparisons, hashing, detach and clone."""

import numpy as np
import pytest

import minigrad as mg

# ----- dtypes of new tensors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float64),
        ([1.0, 2.0], np.float64),
        (3, np.int64),
        ([[1, 2], [3, 4]], np.int64),
        ([True, False], np.bool_),
        ([1, 2.5], np.float64),
        (np.arange(3, dtype=np.float32), np.float32),
        (np.arange(3, dtype=np.int32), np.int32),
    ],
)
@pytest.mark.parametrize("make", [mg.tensor, mg.Tensor], ids=["tensor", "Tensor"])
def test_dtype_follows_pytorch(make, data, dtype):
    """Python floats -> the default dtype (float64 in the unit tests, see conftest.py; float32
    in a user's script, see test_torch_dtypes.py), ints -> int64; arrays keep their dtype."""
    assert make(data).dtype == dtype


@pytest.mark.parametrize("make", [mg.tensor, mg.Tensor], ids=["tensor", "Tensor"])
@pytest.mark.parametrize("dtype", [np.float32, "float32", np.float16, np.int32])
def test_dtype_argument_is_honoured(make, dtype):
    t = make([1, 2, 3], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.data, [1, 2, 3])


def test_tensor_copies_its_input():
    data = np.array([1.0, 2.0, 3.0])
    t = mg.tensor(data)
    data[0] = 100.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_tensor_of_a_tensor_copies():
    a = mg.tensor([1.0, 2.0])
    b = mg.tensor(a)
    with mg.no_grad():
        a.fill_(7.0)
    np.testing.assert_array_equal(b.data, [1.0, 2.0])


def test_requires_grad_and_name_are_stored():
    t = mg.tensor([1.0], requires_grad=True, name="w")
    assert t.requires_grad and t.name == "w"
    assert not mg.tensor([1.0]).requires_grad


# ----- creation functions ------------------------------------------------------------------------


@pytest.mark.parametrize("make, value", [(mg.zeros, 0.0), (mg.ones, 1.0)])
@pytest.mark.parametrize("args", [(2, 3), ((2, 3),), ([2, 3],)], ids=["ints", "tuple", "list"])
def test_zeros_and_ones_take_ints_or_a_tuple(make, value, args):
    t = make(*args)
    assert t.shape == (2, 3)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.full((2, 3), value))


@pytest.mark.parametrize("make", [mg.zeros, mg.ones])
def test_zeros_and_ones_dtype_and_requires_grad(make):
    assert make(4).shape == (4,)
    assert make(()).shape == ()
    assert make(2, dtype=np.float32).dtype == np.float32
    assert make(2, dtype=np.int64).dtype == np.int64
    assert make(2, requires_grad=True).requires_grad


def test_full():
    t = mg.full((2, 2), 7.0)
    assert t.shape == (2, 2) and t.dtype == np.float64
    np.testing.assert_array_equal(t.data, [[7.0, 7.0], [7.0, 7.0]])
    assert mg.full((3,), 2).dtype == np.int64
    assert mg.full((3,), 2, dtype=np.float32).dtype == np.float32


def test_arange():
    t = mg.arange(5)
    assert t.dtype == np.int64
    np.testing.assert_array_equal(t.data, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(mg.arange(2, 8, 2).data, [2, 4, 6])
    f = mg.arange(0.0, 1.0, 0.25)
    assert f.dtype == np.float64
    np.testing.assert_allclose(f.data, [0.0, 0.25, 0.5, 0.75])
    assert mg.arange(4, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(mg.arange(4, dtype=np.float32).data, [0, 1, 2, 3])


def test_linspace():
    t = mg.linspace(0.0, 1.0, 5)
    assert t.shape == (5,) and t.dtype == np.float64
    np.testing.assert_allclose(t.data, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert mg.linspace(0, 1, 3, dtype=np.float32).dtype == np.float32


def test_eye():
    np.testing.assert_array_equal(mg.eye(3).data, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert mg.eye(3).dtype == np.float64
    assert mg.eye(2, 3).shape == (2, 3)
    np.testing.assert_array_equal(mg.eye(2, 3).data, [[1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("make, value", [(mg.zeros_like, 0), (mg.ones_like, 1)])
def test_zeros_like_and_ones_like(make, value):
    x = mg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    t = make(x)
    assert t.shape == (2, 3) and t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.full((2, 3), value))
    assert make(mg.arange(3)).dtype == np.int64
    assert make(x, dtype=np.float64).dtype == np.float64
    assert make(np.zeros((4, 1))).shape == (4, 1)
    assert not make(mg.ones(2, requires_grad=True)).requires_grad
    assert make(x, requires_grad=True).requires_grad


# ----- random ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda **kw: mg.rand(2, 3, **kw),
        lambda **kw: mg.randn((2, 3), **kw),
        lambda **kw: mg.randint(0, 1000, (2, 3), **kw),
    ],
    ids=["rand", "randn", "randint"],
)
class TestRandom:
    def test_manual_seed_reproduces(self, draw):
        mg.manual_seed(123)
        a = draw()
        mg.manual_seed(123)
        b = draw()
        assert a.shape == (2, 3)
        np.testing.assert_array_equal(a.data, b.data)

    def test_draws_differ_without_reseeding(self, draw):
        mg.manual_seed(123)
        a, b = draw(), draw()
        assert not np.array_equal(a.data, b.data)

    def test_different_seeds_differ(self, draw):
        mg.manual_seed(1)
        a = draw()
        mg.manual_seed(2)
        assert not np.array_equal(a.data, draw().data)

    def test_generator_reproduces(self, draw):
        a = draw(generator=mg.Generator(7))
        b = draw(generator=mg.Generator(7))
        np.testing.assert_array_equal(a.data, b.data)
        g = mg.Generator(7)
        c, d = draw(generator=g), draw(generator=g)
        np.testing.assert_array_equal(a.data, c.data)
        assert not np.array_equal(c.data, d.data)

    def test_generator_is_independent_of_the_global_seed(self, draw):
        mg.manual_seed(0)
        a = draw(generator=mg.Generator(7))
        mg.manual_seed(99)
        draw()
        b = draw(generator=mg.Generator(7))
        np.testing.assert_array_equal(a.data, b.data)


def test_random_dtypes_and_ranges():
    mg.manual_seed(0)
    u = mg.rand(1000)
    assert u.dtype == np.float64 and u.shape == (1000,)
    assert u.data.min() >= 0.0 and u.data.max() < 1.0
    assert mg.rand(2, dtype=np.float32).dtype == np.float32
    n = mg.randn(2000)
    assert n.dtype == np.float64
    assert abs(n.data.mean()) < 0.15 and 0.85 < n.data.std() < 1.15
    assert mg.randn(3, requires_grad=True).requires_grad
    k = mg.randint(-2, 3, (500,))
    assert k.dtype == np.int64
    assert set(np.unique(k.data)) == {-2, -1, 0, 1, 2}


# ----- attributes --------------------------------------------------------------------------------


def test_shape_ndim_size_dtype():
    t = mg.tensor(np.zeros((2, 3, 4), dtype=np.float32))
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.numel() == 24
    assert t.dtype == np.float32
    s = mg.tensor(5.0)
    assert (s.shape, s.ndim, s.numel()) == ((), 0, 1)


def test_T_reverses_axes():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(mg.tensor(a).T.data, a.T)
    np.testing.assert_array_equal(mg.tensor([1.0, 2.0]).T.data, [1.0, 2.0])


def test_T_is_differentiable():
    a = np.arange(6.0).reshape(2, 3)
    x = mg.tensor(a, requires_grad=True)
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    (x.T * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w.T)


def test_is_leaf_and_grad_fn():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = mg.tensor([1.0, 2.0])
    assert x.is_leaf and x.grad_fn is None
    assert c.is_leaf and c.grad_fn is None
    y = x * 2
    assert not y.is_leaf
    assert "Mul" in str(y.grad_fn)
    assert "Exp" in str(mg.exp(x).grad_fn)
    assert (c * 2).is_leaf  # nothing to record: no input requires grad


# ----- conversions -------------------------------------------------------------------------------


def test_item():
    assert mg.tensor(2.5).item() == 2.5
    assert type(mg.tensor(2.5).item()) is float
    assert type(mg.tensor([7]).item()) is int
    assert mg.tensor([[3.0]]).item() == 3.0


def test_numpy_and_tolist():
    a = np.arange(6.0).reshape(2, 3)
    t = mg.tensor(a)
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert mg.tensor(1.5).tolist() == 1.5


def test_array_protocol():
    a = np.arange(6.0).reshape(2, 3)
    t = mg.tensor(a)
    np.testing.assert_array_equal(np.asarray(t), a)
    as_float32 = np.asarray(t, dtype=np.float32)
    assert as_float32.dtype == np.float32
    np.testing.assert_array_equal(as_float32, a)
    assert np.sum(np.asarray(t)) == 15.0


def test_astype():
    t = mg.tensor([1.5, 2.5])
    f32 = t.astype(np.float32)
    assert f32.dtype == np.float32 and t.dtype == np.float64
    np.testing.assert_array_equal(f32.data, [1.5, 2.5])
    np.testing.assert_array_equal(t.astype(np.int64).data, [1, 2])


def test_astype_passes_gradients_back_in_the_source_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x.astype(np.float32) * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_len():
    assert len(mg.zeros(4, 2)) == 4
    assert len(mg.tensor([1.0])) == 1


def test_len_of_0d_raises_type_error():
    with pytest.raises(TypeError, match="0-d tensor: it has no first axis"):
        len(mg.tensor(3.0))


def test_iter_yields_rows():
    a = np.arange(6.0).reshape(3, 2)
    rows = list(mg.tensor(a))
    assert len(rows) == 3
    assert all(isinstance(r, mg.Tensor) for r in rows)
    for r, expected in zip(rows, a):
        np.testing.assert_array_equal(r.data, expected)


def test_iter_keeps_gradients():
    """sum over rows of (row_i * (i + 1)): the gradient of row i is i + 1."""
    x = mg.tensor(np.ones((3, 2)), requires_grad=True)
    total = mg.tensor(0.0)
    for i, row in enumerate(x):
        total = total + (row * (i + 1)).sum()
    total.backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 1], [2, 2], [3, 3]])


def test_iter_of_0d_raises_type_error():
    with pytest.raises(TypeError, match="0-d tensor: it has no first axis"):
        iter(mg.tensor(1.0)).__next__()


# ----- repr --------------------------------------------------------------------------------------


def test_repr_shows_values():
    r = repr(mg.tensor([1.5, -2.0]))
    assert r.startswith("tensor(")
    assert "1.5" in r and "-2." in r
    assert "requires_grad" not in r and "grad_fn" not in r and "dtype" not in r


def test_repr_shows_requires_grad():
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))


def test_repr_shows_grad_fn():
    x = mg.tensor([1.0], requires_grad=True)
    assert "grad_fn=<Mul>" in repr(x * 2)


def test_repr_shows_name():
    assert "name='w'" in repr(mg.tensor([1.0], name="w"))


def test_repr_shows_dtype_when_not_a_default():
    assert "dtype=float32" in repr(mg.tensor([1.0], dtype=np.float32))
    assert "dtype=int32" in repr(mg.tensor([1], dtype=np.int32))
    assert "dtype" not in repr(mg.tensor([1]))


def test_repr_of_0d_and_matrix():
    assert "3.5" in repr(mg.tensor(3.5))
    r = repr(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert "[[1., 2.]" in r and "[3., 4.]]" in r


# ----- comparisons and hashing -------------------------------------------------------------------


@pytest.mark.parametrize(
    "compare, expected",
    [
        (lambda a, b: a < b, [True, False, False]),
        (lambda a, b: a <= b, [True, True, False]),
        (lambda a, b: a > b, [False, False, True]),
        (lambda a, b: a >= b, [False, True, True]),
        (lambda a, b: a == b, [False, True, False]),
        (lambda a, b: a != b, [True, False, True]),
    ],
    ids=["lt", "le", "gt", "ge", "eq", "ne"],
)
def test_comparisons_give_bool_tensors_without_grad(compare, expected):
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for b in (mg.tensor([2.0, 2.0, 2.0], requires_grad=True), 2.0, np.array([2.0, 2.0, 2.0])):
        out = compare(a, b)
        assert isinstance(out, mg.Tensor)
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.data, expected)


def test_comparison_broadcasts():
    out = mg.tensor([[1.0], [3.0]]) > mg.tensor([0.0, 2.0, 4.0])
    np.testing.assert_array_equal(out.data, [[True, False, False], [True, True, False]])


def test_tensors_are_hashable_by_identity():
    a, b = mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0])
    assert len({a, b}) == 2
    assert len({a, a}) == 1
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert a in {a} and b not in {a}


# ----- detach and clone --------------------------------------------------------------------------


def test_detach_cuts_the_graph():
    """z = sum(detach(x*x) * x): the detached factor is a constant, so dz/dx = x**2 (not 3x**2)."""
    x0 = np.array([1.0, -2.0, 3.0])
    x = mg.tensor(x0, requires_grad=True)
    d = (x * x).detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    np.testing.assert_array_equal(d.data, x0**2)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, x0**2)


def test_clone_keeps_the_graph_and_copies_the_data():
    x0 = np.array([1.0, -2.0, 3.0])
    x = mg.tensor(x0, requires_grad=True)
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    np.testing.assert_array_equal(c.data, x0)
    assert not np.shares_memory(c.data, x.data)
    (c * c).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * x0)


def test_clone_of_a_constant_is_an_independent_copy():
    a = mg.tensor([1.0, 2.0])
    c = a.clone()
    c.fill_(0.0)
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    assert c.dtype == a.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_clone_keeps_the_dtype(dtype):
    a = mg.tensor([1, 0], dtype=dtype)
    assert a.clone().dtype == dtype


def test_augmented_assignment_updates_in_place_under_no_grad():
    """As PyTorch: ``w -= lr * w.grad`` under no_grad changes w itself."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    same = w
    with mg.no_grad():
        w -= 0.5 * w.grad
        w *= 2.0
    assert w is same and w.requires_grad
    np.testing.assert_allclose(w.data, [0.0, 0.0])


def test_augmented_assignment_with_a_gradient_involved_stays_on_the_tape():
    """acc += x with x requiring grad must not lose x's gradient (no silent wrong answer)."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    acc = mg.zeros(2)
    acc += x * 3
    acc.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_augmented_assignment_of_plain_tensors_is_in_place():
    a = mg.tensor([1.0, 2.0])
    alias = a
    a += 1
    np.testing.assert_array_equal(alias.data, [2.0, 3.0])


def test_a_cast_to_an_integer_dtype_has_no_gradient():
    """As PyTorch's x.long(): the result is a constant (an int tensor cannot require grad)."""
    x = mg.tensor([1.5, -2.5], requires_grad=True)
    n = x.astype(np.int64)
    assert n.tolist() == [1, -2] and not n.requires_grad and n.is_leaf
    y = x.astype(np.float32)
    assert y.requires_grad and y.dtype == np.float32
