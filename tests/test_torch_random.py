"""Random numbers with PyTorch's API: ``Generator``, ``manual_seed``, ``randint``'s forms,
``randperm``, ``multinomial`` (with and without replacement, checked statistically on a seeded
generator against the probabilities PyTorch documents), ``bernoulli``, ``normal``, the in-place
fills ``normal_``/``uniform_``/``bernoulli_`` and the ``*_like`` draws."""

import math

import numpy as np
import pytest

import minigrad as mg

# ----- generators and seeds ----------------------------------------------------------------------


def test_an_unseeded_generator_starts_from_pytorchs_fixed_seed():
    assert mg.Generator().initial_seed() == 67280421310721
    a, b = mg.randn(3, generator=mg.Generator()), mg.randn(3, generator=mg.Generator())
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_generator_forms():
    g = mg.Generator()
    assert g.manual_seed(3) is g and g.initial_seed() == 3 and g.device == "cpu"
    same = [mg.rand(4, generator=make).numpy() for make in
            (mg.Generator().manual_seed(5), mg.Generator(5), mg.Generator("cpu", seed=5))]  # fmt: skip
    np.testing.assert_array_equal(same[0], same[1])
    np.testing.assert_array_equal(same[0], same[2])
    with pytest.raises(mg.errors.DeviceError, match="minigrad computes with numpy"):
        mg.Generator("cuda")
    with pytest.raises(mg.DTypeError, match="expected an mg.Generator, got Generator"):
        mg.rand(2, generator=np.random.default_rng(0))


def test_manual_seed_returns_the_default_generator_and_reproduces():
    assert mg.manual_seed(7) is mg.default_generator and mg.initial_seed() == 7
    first = mg.randn(5).numpy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(mg.randn(5).numpy(), first)
    mg.manual_seed(-1)  # any int, as PyTorch's (taken modulo 2**64)
    assert mg.initial_seed() == 2**64 - 1
    with pytest.raises(mg.OpError, match="the seed must be an int"):
        mg.manual_seed(1.5)


def test_seed_reseeds_and_the_state_round_trips():
    new = mg.seed()
    assert mg.initial_seed() == new
    state = mg.get_rng_state()
    a = mg.rand(3).numpy()
    mg.set_rng_state(state)
    np.testing.assert_array_equal(mg.rand(3).numpy(), a)


# ----- randint and randperm ----------------------------------------------------------------------

RANDINT_FORMS = {
    "randint(high, size)": (lambda **kw: mg.randint(4, (200,), **kw), 0, 4),
    "randint(low, high, size)": (lambda **kw: mg.randint(-2, 3, (200,), **kw), -2, 3),
    "randint(high, size=)": (lambda **kw: mg.randint(4, size=(200,), **kw), 0, 4),
    "keywords only": (lambda **kw: mg.randint(low=2, high=5, size=(200,), **kw), 2, 5),
    "randint(low, high=, size=)": (lambda **kw: mg.randint(1, high=3, size=(200,), **kw), 1, 3),
}


@pytest.mark.parametrize("draw, low, high", RANDINT_FORMS.values(), ids=list(RANDINT_FORMS))
def test_randint_forms_draw_every_value_of_low_to_high(draw, low, high):
    k = draw(generator=mg.Generator(0))
    assert k.dtype == np.int64 and k.shape == (200,)
    assert set(k.tolist()) == set(range(low, high))


def test_randint_errors_and_dtype():
    with pytest.raises(mg.OpError, match=r"low=5 must be less than high=2"):
        mg.randint(5, 2, (3,))
    with pytest.raises(mg.ShapeError, match="the size must be a tuple"):
        mg.randint(0, 10)
    with pytest.raises(mg.OpError, match="given both by position and by keyword"):
        mg.randint(1, 5, (2,), low=0)
    values = mg.randint(0, 3, (50,), dtype=mg.float32, generator=mg.Generator(1))
    assert values.dtype == mg.float32 and set(values.tolist()) == {0.0, 1.0, 2.0}


def test_randperm_is_a_permutation():
    p = mg.randperm(10, generator=mg.Generator(0))
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))
    assert p.tolist() != list(range(10))  # 1 chance in 10! of failing with a fixed seed: it doesn't
    assert mg.randperm(0).shape == (0,) and mg.randperm(3, dtype=mg.float32).dtype == mg.float32
    np.testing.assert_array_equal(mg.randperm(10, generator=mg.Generator(0)).numpy(), p.numpy())


# ----- multinomial -------------------------------------------------------------------------------

N_DRAWS = 20_000


def within(count: int, n: int, p: float, sigmas: float = 4.5) -> bool:
    """Whether ``count`` successes of ``n`` is within ``sigmas`` binomial standard deviations."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_multinomial_with_replacement_draws_in_proportion_to_the_weights():
    weights = mg.tensor([1.0, 0.0, 3.0, 6.0])  # not normalised: probabilities 0.1, 0, 0.3, 0.6
    draws = mg.multinomial(weights, N_DRAWS, replacement=True, generator=mg.Generator(0))
    assert draws.dtype == np.int64 and draws.shape == (N_DRAWS,)
    counts = np.bincount(draws.numpy(), minlength=4)
    assert counts[1] == 0  # a zero weight is never drawn
    for count, p in zip(counts, [0.1, 0.0, 0.3, 0.6]):
        assert within(count, N_DRAWS, p)


def test_multinomial_without_replacement_is_successive_sampling():
    """Pairs drawn without replacement from p = (0.5, 0.3, 0.2): P(i then j) = p_i p_j / (1 - p_i),
    the distribution PyTorch documents (and its draws show: 0.297, 0.196, 0.215, ...)."""
    p = [0.5, 0.3, 0.2]
    g = mg.Generator(0)
    weights = mg.tensor([p] * N_DRAWS)  # one row per draw: (N_DRAWS, 2) in one call
    pairs = mg.multinomial(weights, 2, generator=g).numpy()
    assert pairs.shape == (N_DRAWS, 2) and (pairs[:, 0] != pairs[:, 1]).all()
    for i in range(3):
        for j in range(3):
            if i != j:
                count = int(((pairs[:, 0] == i) & (pairs[:, 1] == j)).sum())
                assert within(count, N_DRAWS, p[i] * p[j] / (1 - p[i])), (i, j, count)


def test_multinomial_without_replacement_takes_every_category_once():
    draws = mg.multinomial(mg.tensor([[1.0, 2.0, 3.0, 4.0]] * 50), 4, generator=mg.Generator(2))
    assert all(sorted(row) == [0, 1, 2, 3] for row in draws.tolist())
    # once only zero weights are left they follow in order, as PyTorch's [1, 0, 2]
    assert mg.multinomial(mg.tensor([0.0, 1.0, 0.0]), 3).tolist() == [1, 0, 2]


def test_multinomial_method_and_errors():
    assert mg.tensor([0.0, 0.0, 5.0]).multinomial(2, replacement=True).tolist() == [2, 2]
    with pytest.raises(mg.OpError, match="cannot draw 3 samples from 2 categories"):
        mg.multinomial(mg.tensor([0.5, 0.5]), 3)
    with pytest.raises(mg.OpError, match="inf, nan or an element < 0"):
        mg.multinomial(mg.tensor([-1.0, 2.0]), 1)
    with pytest.raises(mg.OpError, match="sum to 0"):
        mg.multinomial(mg.tensor([0.0, 0.0]), 1)
    with pytest.raises(mg.ShapeError, match="must be 1-D or 2-D"):
        mg.multinomial(mg.tensor(1.0), 1)


# ----- bernoulli and normal ----------------------------------------------------------------------


def test_bernoulli_draws_ones_with_the_given_probabilities():
    probabilities = mg.tensor([0.0, 1.0, 0.25] * 4000, dtype=mg.float64)
    draws = mg.bernoulli(probabilities, generator=mg.Generator(0))
    assert draws.dtype == mg.float64 and set(draws.tolist()) <= {0.0, 1.0}
    values = draws.numpy().reshape(-1, 3)
    assert (values[:, 0] == 0).all() and (values[:, 1] == 1).all()
    assert within(int(values[:, 2].sum()), 4000, 0.25)
    assert mg.zeros(3).bernoulli(1.0).tolist() == [1.0, 1.0, 1.0]  # p= overrides the values
    with pytest.raises(mg.OpError, match=r"must be in \[0, 1\]"):
        mg.bernoulli(mg.tensor([1.5]))


def test_normal_with_numbers_and_with_tensors():
    x = mg.normal(2.0, 0.5, size=(20_000,), generator=mg.Generator(0)).numpy()
    assert abs(x.mean() - 2.0) < 0.02 and abs(x.std() - 0.5) < 0.02
    means = mg.tensor([0.0, 100.0], dtype=mg.float32)
    y = mg.normal(means, 1.0, generator=mg.Generator(1))
    assert y.dtype == mg.float32 and y.shape == (2,) and abs(y[1].item() - 100) < 6
    with pytest.raises(mg.OpError, match="std must be >= 0"):
        mg.normal(0.0, -1.0, size=(2,))


@pytest.mark.parametrize("draw", [mg.rand, mg.randn], ids=["rand", "randn"])
def test_random_floats_refuse_an_integer_dtype(draw):
    with pytest.raises(mg.DTypeError, match="draws floating-point numbers"):
        draw(2, dtype=mg.int64)


def test_like_draws_keep_shape_and_dtype():
    x = mg.zeros(3, 2, dtype=mg.float32)
    for draw in (mg.rand_like, mg.randn_like):
        assert draw(x).shape == (3, 2) and draw(x).dtype == mg.float32
        assert draw(x, dtype=mg.float64).dtype == mg.float64
        with pytest.raises(mg.DTypeError, match="draws floating-point numbers"):
            draw(mg.arange(3))
    k = mg.randint_like(x, 5)
    assert k.dtype == mg.float32 and set(k.numpy().ravel()) <= {0, 1, 2, 3, 4}
    assert set(mg.randint_like(mg.arange(300), 2, 4).tolist()) == {2, 3}


# ----- in-place fills ----------------------------------------------------------------------------


def test_normal_and_uniform_fill_in_place():
    x = mg.zeros(20_000, dtype=mg.float32)
    assert x.normal_(3.0, 2.0, generator=mg.Generator(0)) is x
    assert x.dtype == mg.float32 and abs(x.numpy().mean() - 3) < 0.05
    assert abs(x.numpy().std() - 2) < 0.05
    assert x.uniform_(-1.0, 2.0) is x
    assert x.numpy().min() >= -1 and x.numpy().max() < 2 and abs(x.numpy().mean() - 0.5) < 0.03
    x.uniform_(**{"from": 5.0, "to": 6.0})  # PyTorch's keywords, which Python cannot spell
    assert x.numpy().min() >= 5 and x.numpy().max() < 6
    assert set(mg.zeros(100).bernoulli_(1.0).tolist()) == {1.0}
    a = mg.zeros(4).normal_(generator=mg.Generator(3)).numpy()
    np.testing.assert_array_equal(mg.zeros(4).normal_(generator=mg.Generator(3)).numpy(), a)


def test_fills_bump_the_version_so_a_saved_tensor_is_not_used_stale():
    x = mg.ones(3, requires_grad=True)
    w = mg.ones(3)
    y = (x * w).sum()  # saves w for x's gradient
    w.normal_()
    with pytest.raises(mg.BackwardError, match="modified in place"):
        y.backward()


def test_fills_refuse_integers_and_a_tensor_being_differentiated():
    with pytest.raises(mg.DTypeError, match="normal_: fills with floating-point numbers"):
        mg.arange(3).normal_()
    with pytest.raises(mg.DTypeError, match="uniform_"):
        mg.arange(3).uniform_()
    p = mg.zeros(3, requires_grad=True)
    with pytest.raises(mg.OpError, match="normal_: in-place change of a tensor that requires grad"):
        p.normal_()
    with mg.no_grad():
        p.normal_()  # how nn.init does it
    assert p.requires_grad and np.abs(p.numpy()).sum() > 0
    with pytest.raises(mg.OpError, match="std must be >= 0"):
        mg.zeros(2).normal_(0.0, -1.0)
    with pytest.raises(mg.OpError, match="expects low <= high"):
        mg.zeros(2).uniform_(1.0, 0.0)
