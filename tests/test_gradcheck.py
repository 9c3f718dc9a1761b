"""Gradient checking: ``mg.gradcheck``, ``gradgradcheck``, ``check_grads``, ``check_hvp`` and
``mg.detect_anomaly``.

A checker must catch what it exists to catch and must not cry wolf. Planted bugs are custom
primitives whose rules are wrong in one known way each; the checker has to fail, name the input
and the element. Correct functions (closed forms from the math, kinks with valid subgradients,
a Hypothesis menu of composites) have to pass.

Problems found while writing this file are pinned by strict tests where they belong: a wrong
gradient accepted as a "kink" where the curvature is large, smooth points reported as kinks,
kinks not listed when the central difference happens to equal the subgradient, and two false
alarms (a step too large for a fast oscillation; a small output lost next to a large one).
"""

import pathlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.checking import GradcheckError, GradcheckNotice, numeric
from minigrad.errors import BackwardError, DTypeError

# ----- planted bugs: custom primitives, each wrong in one way --------------------------------------


class MulWrongSignForA(mg.Primitive):
    """a * b; the cotangent of ``a`` has the wrong sign (``b``'s is right)."""

    @staticmethod
    def forward(a, b):
        return a * b

    @staticmethod
    def vjp(g, y, a, b):
        return -(g * b), g * a


class MulDoubledForB(mg.Primitive):
    """a * b; the cotangent of ``b`` is twice too large (``a``'s is right)."""

    holomorphic = True  # a * b extends to complex inputs: the complex step may check it

    @staticmethod
    def forward(a, b):
        return a * b

    @staticmethod
    def vjp(g, y, a, b):
        return g * b, 2 * (g * a)


class MatMulUntransposed(mg.Primitive):
    """a @ w for a square w; the cotangent of ``a`` uses w where w.T belongs (shapes still fit)."""

    @staticmethod
    def forward(a, w):
        return a @ w

    @staticmethod
    def vjp(g, y, a, w):
        return g @ w, a.T @ g


class ExpWrongAtOneElement(mg.Primitive):
    """exp(x) for x of shape (3, 4); the cotangent is 1 too large at index (1, 2) only."""

    @staticmethod
    def forward(x):
        return np.exp(x)

    @staticmethod
    def vjp(g, y, x):
        bump = np.zeros(x.shape)
        bump[1, 2] = 1.0
        return (g * y + g * bump,)


class AddBiasUnreduced(mg.Primitive):
    """x + b for x (3, 4) and b (4,); the vjp forgets to sum the cotangent of b over rows."""

    @staticmethod
    def forward(x, b):
        return x + b

    @staticmethod
    def vjp(g, y, x, b):
        return g, g


def inputs(seed, **shapes):
    """Named random float64 inputs: ``inputs(0, a=(3, 4))`` -> [Tensor named "a"]."""
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.standard_normal(s), name=n) for n, s in shapes.items()]


# name -> (primitive, its inputs, the input whose cotangent is wrong)
PLANTED = {
    "wrong sign": (MulWrongSignForA.apply, inputs(1, a=(3, 4), b=(3, 4)), "a"),
    "wrong scale": (MulDoubledForB.apply, inputs(2, a=(3, 4), b=(3, 4)), "b"),
    "transposed matrix": (MatMulUntransposed.apply, inputs(3, a=(2, 3), w=(3, 3)), "a"),
    "wrong at one element": (ExpWrongAtOneElement.apply, inputs(4, x=(3, 4)), "x"),
}


@pytest.fixture(params=sorted(PLANTED))
def planted(request):
    return PLANTED[request.param]


def test_planted_bug_fails_and_names_only_the_wrong_input(planted):
    f, xs, wrong = planted
    report = mg.gradcheck(f, *xs)
    assert not report
    assert [c.name for c in report.failures] == [wrong]
    assert [c.name for c in report.checks] == [x.name for x in xs]
    assert all(c.passed for c in report.checks if c.name != wrong)


def test_planted_bug_fast_mode_fails_escalates_and_finds_the_same_elements(planted):
    f, xs, wrong = planted
    full = mg.gradcheck(f, *xs)
    fast = mg.gradcheck(f, *xs, mode="fast")
    assert not fast
    assert any("escalated" in note for note in fast.notes)
    assert [c.name for c in fast.failures] == [wrong]
    assert [e.index for e in fast.failures[0].failures] == [
        e.index for e in full.failures[0].failures
    ]


def test_planted_bug_raise_exception_raises_an_assertion_with_the_table(planted):
    f, xs, wrong = planted
    table = str(mg.gradcheck(f, *xs))
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(f, *xs, raise_exception=True)
    assert isinstance(info.value, AssertionError)
    assert table in str(info.value)
    assert f"FAIL {wrong}" in str(info.value)


def test_wrong_element_is_located_exactly():
    """Only (1, 2) is wrong: one failure, there, in full and in fast mode."""
    (x,) = inputs(4, x=(3, 4))
    for mode in ("full", "fast"):
        report = mg.gradcheck(ExpWrongAtOneElement.apply, x, mode=mode)
        assert not report
        assert len(report.failures[0].failures) == 1
        assert report.failures[0].failures[0].index == (1, 2)
        assert report.failures[0].worst_index == (1, 2)


class QuadraticMissingLinearTerm(mg.Primitive):
    """5000 x^2 + 0.01 x; the vjp forgets the linear term: 10000 x instead of 10000 x + 0.01."""

    @staticmethod
    def forward(x):
        return 5000 * x * x + 0.01 * x

    @staticmethod
    def vjp(g, y, x):
        return (g * (10000 * x),)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_small_wrong_gradient_where_curvature_is_large_is_caught(mode):
    """Near the minimum (x = -1e-6) the gradient is ~0 and the vjp is off by 0.01, a thousand
    times the tolerance; the curvature (1e4) is no excuse to call the points kinks."""
    x = mg.tensor([-1e-6, 0.0, 1e-6])
    report = mg.gradcheck(lambda x: QuadraticMissingLinearTerm.apply(x).sum(), x, mode=mode)
    assert report.checks[-1].kinks == []
    assert not report
    assert sorted(e.index for e in report.failures[0].failures) == [(0,), (1,), (2,)]


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_vjp_missing_the_broadcast_reduction_is_reported_clearly(mode):
    """A cotangent of the wrong shape cannot be compared: a BackwardError names the primitive,
    both shapes and the rule a vjp must follow."""
    x, b = mg.tensor(np.ones((3, 4))), mg.tensor(np.ones(4))
    with pytest.raises(BackwardError) as info:
        mg.gradcheck(AddBiasUnreduced.apply, x, b, mode=mode)
    message = str(info.value)
    assert "AddBiasUnreduced.vjp" in message
    assert "shape (3, 4) for an input of shape (4,)" in message
    assert "each of that input's shape" in message


# ----- fast mode on a large input ----------------------------------------------------------------
# <J^T u, v> grows like sqrt(size): at 1e5 elements rtol * |<J^T u, v>| is ~0.2, and an error e
# at one element, which moves <J^T u, v> by e * v_j, hid under it. The fast check's tolerance
# now comes from the finite differences' own error estimate. The full check that a failing fast
# check escalates to would take minutes here, so these tests stop at the escalation.

X_LARGE = np.random.default_rng(7).standard_normal(100_000)


class SinWrongAtOneElement(mg.Primitive):
    """sin whose vjp is ``scale`` times the right one at element ``index`` only."""

    @staticmethod
    def forward(x, index, scale):
        return np.sin(x)

    @staticmethod
    def vjp(g, y, x, index, scale):
        factor = np.ones(x.shape)
        factor[index] = scale
        return (g * mg.cos(x) * factor,)


class Escalated(Exception):
    """Raised in place of the full check that a failing fast check escalates to."""


@pytest.fixture
def stop_at_escalation(monkeypatch):
    def full_check(*args, **kwargs):
        raise Escalated

    monkeypatch.setattr(numeric, "differentiate", full_check)


@pytest.mark.parametrize(
    "scale", [0.0, -1.0, 1.1, 1.01], ids=["zeroed", "sign flipped", "10% off", "1% off"]
)
def test_fast_mode_catches_one_wrong_element_among_1e5(stop_at_escalation, scale):
    """Element 12345's derivative cos(x_j) is zeroed, negated, 10% or 1% too large: along v it
    moves <J^T u, v> by |cos(x_j) v_j| times 1, 2, 0.1 or 0.01, against a tolerance of ~1e-5
    (a relative tolerance of 1e-3 let the last two pass)."""
    assert abs(np.cos(X_LARGE[12345])) > 0.1
    with pytest.raises(Escalated):
        mg.gradcheck(
            lambda x: SinWrongAtOneElement.apply(x, index=12345, scale=scale).sum(),
            X_LARGE,
            mode="fast",
        )


def test_fast_mode_passes_the_right_rule_on_1e5_elements(stop_at_escalation):
    report = mg.gradcheck(
        lambda x: SinWrongAtOneElement.apply(x, index=12345, scale=1.0).sum(), X_LARGE, mode="fast"
    )
    assert report and report.notes == []
    (check,) = report.checks
    assert check.name == "directions" and check.max_abs_error < 1e-6


def test_fast_mode_allows_for_the_rounding_of_large_values(stop_at_escalation):
    """sum(x^2) at |x| ~ 1e3 is ~1e10: a difference of two such values carries a rounding
    error of ~1e-6, ~1e-4 once divided by the step, and no gap between step sizes shows it."""
    x = np.random.default_rng(0).standard_normal((100, 100)) * 1e3
    assert mg.gradcheck(lambda a: (a * a).sum(), x, mode="fast")


def test_a_fast_check_failing_on_a_correct_function_costs_only_the_full_check():
    """abs at points closer to 0 than the step: a direction crosses several kinks at
    different points, where its finite differences mean nothing; the full check that follows
    looks at one element at a time, and passes."""
    x = mg.tensor([1e-6, -2e-6, 3e-6, -4e-6, 0.5])
    report = mg.gradcheck(lambda a: mg.abs(a).sum(), x, mode="fast")
    assert report, str(report)
    assert report.notes == [
        "fast check failed along a random direction: escalated to every element"
    ]
    assert [c.name for c in report.checks] == ["input 0"]


# ----- kinks -------------------------------------------------------------------------------------


def test_relu_at_zero_passes_and_lists_the_kink():
    report = mg.gradcheck(lambda x: mg.relu(x).sum(), mg.tensor([-1.5, 0.0, 2.0]))
    assert report
    assert report.checks[0].kinks == [(1,)]


def test_abs_at_zero_passes_and_lists_the_kink():
    report = mg.gradcheck(lambda x: mg.abs(x).sum(), mg.tensor([-1.5, 0.0, 2.0]))
    assert report
    assert report.checks[0].kinks == [(1,)]


def test_maximum_at_a_tie_passes_and_lists_the_kink_for_both_operands():
    x, y = mg.tensor([-1.0, 0.5, 2.0]), mg.tensor([0.0, 0.5, 1.0])
    report = mg.gradcheck(lambda x, y: mg.maximum(x, y).sum(), x, y)
    assert report
    assert [c.kinks for c in report.checks] == [[(1,)], [(1,)]]


def test_max_with_ties_passes_and_lists_the_tied_elements():
    report = mg.gradcheck(lambda x: x.max(), mg.tensor([1.0, 3.0, 3.0, 2.0]))
    assert report
    assert report.checks[0].kinks == [(1,), (2,)]


def test_smooth_function_with_large_curvature_has_no_kinks():
    """100 cos(x) at 0: the one-sided differences differ by ~100 h, but nothing is a kink."""
    report = mg.gradcheck(lambda x: (100 * mg.cos(x)).sum(), mg.tensor([0.0, 1e-9, 0.3]))
    assert report
    assert report.checks[0].kinks == []


class ReluWrongSubgradient(mg.Primitive):
    """relu whose derivative at exactly 0 is 2: outside the subdifferential [0, 1]."""

    @staticmethod
    def forward(x):
        return np.maximum(x, 0)

    @staticmethod
    def vjp(g, y, x):
        return (g * ((x.data > 0) + 2.0 * (x.data == 0)),)


def test_a_wrong_subgradient_at_a_kink_fails():
    report = mg.gradcheck(
        lambda x: ReluWrongSubgradient.apply(x).sum(), mg.tensor([-1.0, 0.0, 2.0])
    )
    assert not report
    (failure,) = report.failures[0].failures
    assert failure.index == (1,)
    assert failure.analytic == 2.0
    assert report.checks[0].kinks == []


KINKS = {  # f, a point where it has a kink, the indices of the kinks
    "relu at 0": (mg.relu, [-1.5, 0.0, 2.0], [(1,)]),
    "abs at 0": (mg.abs, [-1.5, 0.0, 2.0], [(1,)]),
    "max at a tie": (lambda v: mg.max(v), [1.0, 3.0, 3.0], [(1,), (2,)]),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_check_grads_accepts_a_subgradient_at_a_kink_as_gradcheck_does(name):
    """Along a random direction v the one-sided derivatives at a kink differ (for relu at 0:
    min(v, 0) and max(v, 0)); the jvp of a valid subgradient lies between them."""
    f, x, kinks = KINKS[name]
    assert mg.gradcheck(f, mg.tensor(x)).checks[0].kinks == kinks
    report = mg.check_grads(f, mg.tensor(x))
    assert report, str(report)
    (jvp_row,) = [c for c in report.checks if c.name == "jvp"]
    assert jvp_row.kinks != []
    assert "not differentiable at jvp[" in str(report)


def test_check_hvp_and_order_two_accept_a_kink_of_the_gradient():
    """grad (relu(v)^2).sum() = 2 relu(v) has a kink at 0, where the rule's HVP is 0: between
    the one-sided differences 2 min(v, 0) and 2 max(v, 0)."""
    x = mg.tensor([-1.5, 0.0, 2.0])
    report = mg.check_hvp(lambda v: (mg.relu(v) ** 2).sum(), x)
    assert report, str(report)
    assert [c.kinks for c in report.checks] == [[(1,)]] * 3
    target = mg.tensor([0.0, 0.0, 1.0])
    loss = lambda v: mg.nn.functional.mse_loss(mg.relu(v), target)  # noqa: E731
    assert mg.check_grads(loss, x, order=2)


class ReluSteepAtZero(mg.Primitive):
    """relu with a right vjp and a jvp whose slope at exactly 0 is 3: outside [0, 1]."""

    @staticmethod
    def forward(x):
        return np.maximum(x, 0.0)

    @staticmethod
    def vjp(g, y, x):
        return (g * (x.data > 0),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * np.where(x > 0, 1.0, np.where(x == 0, 3.0, 0.0))


def test_a_wrong_jvp_at_a_kink_fails_check_grads_and_check_hvp():
    """The kink is no free pass: the jvp 3 v at 0 is outside [min(v, 0), max(v, 0)], and the
    HVP of sum(x relu(x)) at 0, 3 v, is outside the one-sided [min(2 v, 0), max(2 v, 0)]."""
    x = mg.tensor([-1.5, 0.0, 2.0])
    assert mg.gradcheck(ReluSteepAtZero.apply, x)
    report = mg.check_grads(ReluSteepAtZero.apply, x, modes=("fwd",))
    assert [c.name for c in report.failures] == ["jvp"]
    assert {e.index[1] for e in report.failures[0].failures} == {1}
    hvp_report = mg.check_hvp(lambda v: (v * ReluSteepAtZero.apply(v)).sum(), x)
    assert [c.name for c in hvp_report.failures] == ["hvp 0", "hvp 1", "hvp 2"]
    assert all(c.failures[0].index == (1,) for c in hvp_report.failures)


# ----- methods -----------------------------------------------------------------------------------

rng = np.random.default_rng(0)
W23 = rng.standard_normal((3, 2))
X23 = rng.uniform(-1, 1, (2, 3))

SMOOTH = {
    "exp": lambda x: mg.exp(x).sum(),
    "sin": lambda x: mg.sin(x),
    "tanh": lambda x: mg.tanh(x).sum(axis=0),
    "matmul": lambda x: x @ mg.tensor(W23),
    "product": lambda x: x * x[::-1] * mg.exp(x),
    "sum": lambda x: (x * mg.sin(x)).sum(axis=1) + x.sum(),
    "indexing": lambda x: x[np.array([1, 1, 0]), 2] * x[0, 1],
}
METHODS = ["central", "forward", "richardson", "complex"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_every_method_passes_on_smooth_functions(method, name):
    report = mg.gradcheck(SMOOTH[name], mg.tensor(X23), method=method)
    assert report, str(report)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_catches_a_planted_bug(method):
    f, xs, wrong = PLANTED["wrong scale"]
    report = mg.gradcheck(f, *xs, method=method)
    assert [c.name for c in report.failures] == [wrong]


NOT_HOLOMORPHIC = {
    "Relu": lambda x: mg.relu(x).sum(),
    "Abs": lambda x: (mg.abs(x) * x).sum(),
    "Maximum": lambda x: mg.maximum(x, 0.2).sum(),
    "Sigmoid": lambda x: mg.exp(mg.sigmoid(x)).sum(),
    "Erf": lambda x: mg.nn.functional.gelu(x).sum(),  # erf's forward refuses complex input
}


@pytest.mark.parametrize("op", sorted(NOT_HOLOMORPHIC))
def test_complex_step_names_the_first_non_holomorphic_op(op):
    with pytest.raises(mg.OpError, match=rf"\b{op}\b.*not holomorphic"):
        mg.gradcheck(NOT_HOLOMORPHIC[op], mg.tensor(X23), method="complex")


@pytest.mark.parametrize("f", [mg.erf, mg.nn.functional.gelu], ids=["erf", "gelu"])
def test_complex_step_through_erf_names_it_and_the_fix_works(f):
    with pytest.raises(mg.OpError) as info:
        mg.gradcheck(f, mg.tensor(X23), method="complex")
    assert not isinstance(info.value, DTypeError)  # not erf's own "takes real numbers"
    assert str(info.value) == (
        "gradcheck: method='complex' needs every operation to extend to complex inputs "
        "analytically, and Erf does not (it is not holomorphic); use method='central' "
        "(or 'richardson')"
    )
    assert mg.gradcheck(f, mg.tensor(X23), method="central")


def test_complex_step_names_the_first_non_holomorphic_op_in_order():
    with pytest.raises(mg.OpError, match=r"\bErf\b"):
        mg.gradcheck(lambda x: mg.relu(mg.erf(x)), mg.tensor(X23), method="complex")
    with pytest.raises(mg.OpError, match=r"\bRelu\b"):
        mg.gradcheck(lambda x: mg.erf(mg.relu(x)), mg.tensor(X23), method="complex")


def test_complex_step_is_exact_to_rounding():
    """No subtraction, so no cancellation: the error is at the level of rounding."""
    report = mg.gradcheck(SMOOTH["exp"], mg.tensor(X23), method="complex")
    assert report.checks[0].max_abs_error < 1e-13


def test_richardson_is_more_accurate_than_central():
    f = lambda x: mg.sin(3 * x).sum()  # noqa: E731
    central = mg.gradcheck(f, mg.tensor(X23), method="central").checks[0].max_abs_error
    richardson = mg.gradcheck(f, mg.tensor(X23), method="richardson").checks[0].max_abs_error
    assert richardson < central / 5


def test_a_fixed_eps_is_honoured_by_central_differences():
    """At x = 0 the central difference of x**3 is exactly h^2: 1e-4 with eps=1e-2, which fails;
    the default step (~6e-6) gives ~4e-11, which passes."""
    cube = lambda x: (x * x * x).sum()  # noqa: E731
    coarse = mg.gradcheck(cube, mg.tensor(np.zeros(3)), eps=1e-2)
    assert not coarse
    assert [e.numeric for e in coarse.checks[0].failures] == pytest.approx([1e-4] * 3, rel=1e-12)
    assert coarse.checks[0].kinks == []
    fine = mg.gradcheck(cube, mg.tensor(np.zeros(3)))
    assert fine
    assert fine.checks[0].max_abs_error < 1e-9


def test_a_fixed_eps_is_honoured_by_forward_differences():
    """The forward difference of x**2 is exactly 2x + h: at x = 0 an error of h."""
    square = lambda x: (x * x).sum()  # noqa: E731
    coarse = mg.gradcheck(square, mg.tensor([0.0, 0.25]), eps=2**-10, method="forward")
    assert not coarse
    assert coarse.checks[0].max_abs_error == pytest.approx(2**-10, rel=1e-9)
    assert mg.gradcheck(square, mg.tensor([0.0, 0.25]), method="forward")


def test_curvature_is_not_mistaken_for_a_kink():
    """x**3 is smooth everywhere. With eps=1e-2 its central difference is off by h^2 = 1e-4,
    which tight tolerances must reject; the one-sided differences differ by ~6xh only because
    of curvature, so no point may be reported as not differentiable."""
    x0 = np.array([0.2, 0.5, 0.9])
    cube = lambda x: (x * x * x).sum()  # noqa: E731
    report = mg.gradcheck(cube, mg.tensor(x0), eps=1e-2, atol=1e-8, rtol=1e-8)
    assert report.checks[0].kinks == []
    assert not report
    h = (x0 + 1e-2) - x0  # the steps actually taken
    assert report.checks[0].max_abs_error == pytest.approx(np.max(h**2), rel=1e-5)


def test_unknown_method_or_mode_is_rejected():
    with pytest.raises(mg.OpError, match="method"):
        mg.gradcheck(SMOOTH["exp"], mg.tensor(X23), method="backward")
    with pytest.raises(mg.OpError, match="mode"):
        mg.gradcheck(SMOOTH["exp"], mg.tensor(X23), mode="quick")


def test_a_function_that_returns_no_tensor_is_a_type_error():
    with pytest.raises(DTypeError, match="must return a Tensor, it returned float"):
        mg.gradcheck(lambda x: 1.0, mg.tensor(X23))


def test_check_grads_names_only_the_option_that_is_wrong():
    with pytest.raises(mg.OpError, match="modes") as info:
        mg.check_grads(mg.sin, mg.tensor(X23), modes=("backward",))
    assert "order" not in str(info.value)
    with pytest.raises(mg.OpError, match="order") as info:
        mg.check_grads(mg.sin, mg.tensor(X23), order=3)
    assert "modes" not in str(info.value)


# ----- dtypes ------------------------------------------------------------------------------------


def test_float32_inputs_are_checked_in_float64_with_a_notice():
    x32 = np.array([0.3, 1.1, -0.7], dtype=np.float32)
    seen = []

    def f(x):
        seen.append(x.dtype)
        return mg.exp(x).sum()

    with pytest.warns(GradcheckNotice, match="float32"):
        report = mg.gradcheck(f, mg.tensor(x32))
    assert report
    assert set(seen) == {np.dtype(np.float64)}
    assert any("float32" in n and "float64" in n for n in report.notes)
    assert "float32" in str(report)
    exact = np.exp(x32.astype(np.float64))
    assert report.checks[0].max_abs_error < 1e-8
    # The same central difference computed in float32 could not pass this check.
    h = np.float32(np.finfo(np.float64).eps ** (1 / 3))
    fd32 = np.array(
        [
            (np.exp(x32 + h * e).sum() - np.exp(x32 - h * e).sum()) / (2 * h)
            for e in np.eye(3, dtype=np.float32)
        ]
    )
    assert np.any(np.abs(fd32 - exact) > 1e-5 + 1e-3 * np.abs(exact))


def test_float64_inputs_give_no_notice():
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradcheckNotice)
        report = mg.gradcheck(SMOOTH["exp"], mg.tensor(X23))
    assert report.notes == []


def test_integer_inputs_are_constants():
    n = mg.tensor([1, 2, 3])
    seen = []

    def f(x, n):
        seen.append(n.dtype)
        return (x * n).sum()

    report = mg.gradcheck(f, mg.tensor([0.5, -1.0, 2.0]), n)
    assert report
    assert [c.name for c in report.checks] == ["input 0"]
    assert all(d.kind == "i" for d in seen)
    assert report.notes == ["input 1 is int64: a constant, not checked"]
    assert "note: input 1 is int64: a constant, not checked" in str(report)


def test_check_grads_and_check_hvp_name_the_inputs_they_do_not_check():
    index = np.array([0, 2])
    report = mg.check_grads(lambda a, i: a[i] ** 2, mg.tensor(X3), index, order=2)
    assert report, str(report)
    assert report.notes == ["input 1 is int64: a constant, not checked"]
    report = mg.check_hvp(lambda a, i: (a[i] ** 3).sum(), mg.tensor(X3), index)
    assert report and report.notes == ["input 1 is int64: a constant, not checked"]


class SinWrongSign(mg.Primitive):
    """sin with the wrong sign in both rules."""

    @staticmethod
    def forward(x):
        return np.sin(x)

    @staticmethod
    def vjp(g, y, x):
        return (-g * mg.cos(x),)

    @staticmethod
    def jvp(ts, y, x):
        return -ts[0] * np.cos(x)


def wrong_sin_squared(x):
    """sin(x)^2 through SinWrongSign: wrong at first order, and at second order too."""
    return SinWrongSign.apply(x) ** 2


NO_FLOAT_INPUT = {
    "gradcheck": lambda x: mg.gradcheck(wrong_sin_squared, x),
    "gradcheck fast": lambda x: mg.gradcheck(wrong_sin_squared, x, mode="fast"),
    "gradgradcheck": lambda x: mg.gradgradcheck(wrong_sin_squared, x),
    "check_grads": lambda x: mg.check_grads(wrong_sin_squared, x),
    "check_hvp": lambda x: mg.check_hvp(lambda v: wrong_sin_squared(v).sum(), x),
}


@pytest.mark.parametrize("check", sorted(NO_FLOAT_INPUT))
@pytest.mark.parametrize(
    "make", [np.arange, lambda n: mg.tensor(np.arange(n))], ids=["array", "tensor"]
)
def test_no_floating_point_input_is_an_error_not_a_vacuous_pass(check, make):
    """np.arange(4) for np.arange(4.0): there is nothing to differentiate, so a check that
    passed would hide the wrong sign; the error names the function, the dtype and the fix."""
    with pytest.raises(DTypeError) as info:
        NO_FLOAT_INPUT[check](make(4))
    message = str(info.value)
    assert message.startswith(f"{check.split()[0]}: no input is floating point")
    assert "input 0 is int64" in message
    assert "np.arange(4.0)" in message
    assert not NO_FLOAT_INPUT[check](np.arange(4.0))  # the fix, and the bug is caught


# ----- the report --------------------------------------------------------------------------------


def test_failing_report_names_the_input_index_and_values():
    """sum(exp(w)) with the (1, 2) cotangent 1 too large: analytic e^w + 1, numeric e^w."""
    (w,) = inputs(5, w=(3, 4))
    report = mg.gradcheck(lambda w: ExpWrongAtOneElement.apply(w).sum(), w, atol=1e-6, rtol=1e-4)
    assert not report and not report.passed
    assert (report.atol, report.rtol) == (1e-6, 1e-4)
    (check,) = report.checks
    assert report.failures == [check]
    true = np.exp(w.data[1, 2])
    assert check.name == "w"
    assert check.shape == (3, 4)
    assert not check.passed
    assert check.worst_index == (1, 2)
    np.testing.assert_allclose(check.analytic, true + 1, rtol=1e-14)
    np.testing.assert_allclose(check.numeric, true, rtol=1e-8)
    np.testing.assert_allclose(check.max_abs_error, 1.0, rtol=1e-7)
    np.testing.assert_allclose(check.max_rel_error, 1.0 / true, rtol=1e-7)
    (failure,) = check.failures
    assert failure.index == (1, 2)
    assert failure.error == abs(failure.analytic - failure.numeric)
    text = str(report)
    assert "FAILED" in text and "FAIL w" in text
    assert "w[1, 2]" in text
    assert f"analytic {failure.analytic:.6g}" in text
    assert f"numeric {failure.numeric:.6g}" in text


def test_failures_are_listed_worst_first_up_to_max_failures():
    f, xs, _ = PLANTED["wrong sign"]  # every element of a (3, 4) is wrong
    check = mg.gradcheck(f, *xs).failures[0]
    errors = [e.error for e in check.failures]
    assert len(errors) == 5
    assert errors == sorted(errors, reverse=True)
    assert len(mg.gradcheck(f, *xs, max_failures=2).failures[0].failures) == 2


def test_passing_report_is_truthy_and_says_so():
    report = mg.gradcheck(lambda x, w: x @ w, mg.tensor(X23), mg.tensor(W23, name="w"))
    assert report and report.passed
    assert bool(report) is True
    assert report.failures == []
    assert [c.name for c in report.checks] == ["input 0", "w"]
    assert all(c.passed and c.failures == [] for c in report.checks)
    text = str(report)
    assert text.startswith("gradcheck passed")
    assert "FAIL" not in text


def test_unused_second_input_has_zero_gradient_and_passes():
    report = mg.gradcheck(lambda x, y: mg.sin(x), mg.tensor(X23), mg.tensor(W23))
    assert report
    assert [c.name for c in report.checks] == ["input 0", "input 1"]
    assert report.checks[1].max_abs_error == 0.0


# ----- no false alarms ---------------------------------------------------------------------------
# The composites are f(x, y) = post(mix(pre(binary(x / c, y / c)))) with c = max(1, s), s the
# inputs' scale (1e-3 to 1e3): f varies on the scale max(1, |x|), the scale the default step is
# chosen for (see minigrad/checking/numeric.py), and the gradients range from 1 to 1e-3. x holds
# values at and near kinks (0, +-1e-9). Kinks (relu, abs, max) come before or at the one mixing
# operation, only smooth operations after it, and y (generic values, away from kinks) may
# broadcast only when nothing downstream has a kink: so moving one element by one
# finite-difference step crosses at most one kink, or several at the same point. Two kinks
# closer together than the step cannot be resolved by finite differences at all.
# Two false alarms found outside this domain are pinned by the tests after the property.

ELEMENTWISE = {
    "exp": mg.exp,
    "tanh": mg.tanh,
    "sin": mg.sin,
    "rational": lambda t: t / (1 + t * t),
    "relu": mg.relu,
    "abs": mg.abs,
}
KINKED = {"relu", "abs"}
BINARY = {
    "none": lambda a, b: a,
    "mul": lambda a, b: a * b,
    "add": lambda a, b: a + b,
    "div": lambda a, b: a / (1 + b * b),
}


def fixed_matrix(n):
    return mg.tensor(np.random.default_rng(n).standard_normal((n, 2)))


MIXING = {
    "none": lambda t: t,
    "sum": lambda t: t.sum(axis=-1) if t.ndim else t,
    "mean": lambda t: t.mean(axis=0) if t.ndim else t,
    "max": lambda t: t.amax(axis=-1) if t.ndim else t,
    "matmul": lambda t: t @ fixed_matrix(t.shape[-1]) if t.ndim else t,
    "index": lambda t: t[np.array([0, 0, -1])] if t.ndim else t,
}
SPECIAL = [0.0, 1e-9, -1e-9]


@st.composite
def composites(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    pre = draw(st.lists(st.sampled_from(sorted(ELEMENTWISE)), max_size=2))
    mix = draw(st.sampled_from(sorted(MIXING)))
    broadcast = not KINKED & set(pre) and mix != "max"  # else y would feed several kinks
    y_shape = tuple(d if not broadcast or draw(st.booleans()) else 1 for d in shape)
    scale = 10.0 ** draw(st.integers(-3, 3))
    n, m = int(np.prod(shape)), int(np.prod(y_shape))
    entry = st.one_of(st.floats(-1, 1).map(lambda v: v * scale), st.sampled_from(SPECIAL))
    generic = st.tuples(st.floats(0.1, 1), st.sampled_from([-1.0, 1.0])).map(
        lambda t: t[0] * t[1] * scale
    )
    x = np.array(draw(st.lists(entry, min_size=n, max_size=n))).reshape(shape)
    y = np.array(draw(st.lists(generic, min_size=m, max_size=m))).reshape(y_shape)
    binary = draw(st.sampled_from(sorted(BINARY)))
    post = draw(st.lists(st.sampled_from(["tanh", "sin", "rational"]), max_size=1))
    return x, y, scale, binary, pre, mix, post


@settings(max_examples=30, deadline=None)
@given(composites())
def test_no_false_alarms_on_correct_composites(problem):
    x, y, scale, binary, pre, mix, post = problem

    def f(x, y):
        c = 1 / max(1.0, scale)
        t = BINARY[binary](x * c, y * c)
        for op in pre:
            t = ELEMENTWISE[op](t)
        t = MIXING[mix](t)
        for op in post:
            t = ELEMENTWISE[op](t)
        return t

    report = mg.gradcheck(f, mg.tensor(x), mg.tensor(y))
    assert report, f"{binary} {pre} {mix} {post} at scale {scale}\n{report}"
    if not KINKED & set(pre) and mix != "max":
        assert all(c.kinks == [] for c in report.checks), str(report)


def test_no_false_alarm_for_a_fast_oscillation_at_a_large_input():
    """sin(x^2) at x = 1000: the gradient 2x cos(x^2) is right, and a central difference with a
    step of 1e-7 confirms it to 1e-6; the default step (6e-6 |x| = 6e-3, which moves x^2 by 12)
    cannot see it."""
    x0 = 1000.0
    exact = 2 * x0 * np.cos(x0**2)
    h = 1e-7
    fd = (np.sin((x0 + h) ** 2) - np.sin((x0 - h) ** 2)) / (2 * h)
    np.testing.assert_allclose(fd, exact, rtol=1e-6)
    report = mg.gradcheck(lambda x: mg.sin(x * x), mg.tensor(x0))
    assert report, str(report)


def test_no_false_alarm_when_outputs_differ_greatly_in_size():
    """exp at [30, 0]: each output checks out alone, but projected onto one random cotangent
    the sum is ~1e13 and the change from moving x[1] by a step (~1e-5) is below its rounding."""
    x = mg.tensor([30.0, 0.0])
    assert mg.gradcheck(lambda x: mg.exp(x)[0], x)
    assert mg.gradcheck(lambda x: mg.exp(x)[1], x)
    report = mg.gradcheck(mg.exp, x)
    assert report, str(report)


# ----- check_grads, gradgradcheck, check_hvp ------------------------------------------------------


class CubeWrongJvp(mg.Primitive):
    """x**3 with a right vjp (3 x^2) and a wrong jvp (2 x^2)."""

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def vjp(g, y, x):
        return (g * 3 * x * x,)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (2 * x * x)


class CubeConstantVjp(mg.Primitive):
    """x**3 whose vjp is computed in numpy: right values, but invisible to differentiation, so
    second derivatives through it come out 0 instead of 6x."""

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def vjp(g, y, x):
        return (mg.Tensor(g.data * 3 * x.data**2),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (3 * x * x)


X3 = np.array([0.5, -1.2, 2.0])
W32 = rng.standard_normal((3, 2))

CORRECT = {
    "sin exp": lambda x: mg.sin(x) * mg.exp(x),
    "tanh matmul": lambda x: mg.tanh(x @ mg.tensor(W32)),
    "rational": lambda x: (x / (1 + x * x)).sum(),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_check_grads_passes_on_correct_functions(name, order):
    report = mg.check_grads(CORRECT[name], mg.tensor(X3), order=order)
    assert report, str(report)
    names = [c.name for c in report.checks]
    assert "jvp" in names and "<u,Jv>=<J'u,v>" in names
    assert ("hvp 0" in names) == (order == 2)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_check_hvp_and_gradgradcheck_pass_on_correct_functions(name):
    assert mg.check_hvp(lambda x: CORRECT[name](x).sum(), mg.tensor(X3))
    assert mg.gradgradcheck(CORRECT[name], mg.tensor(X3))


def test_check_grads_with_two_inputs():
    report = mg.check_grads(
        lambda a, b: mg.tanh(a @ b) * a.sum(), mg.tensor(X23), mg.tensor(W32), order=2
    )
    assert report, str(report)


def test_wrong_jvp_fails_the_jvp_row_in_forward_mode():
    x = mg.tensor(X3, name="x")
    assert mg.check_grads(CubeWrongJvp.apply, x, modes=("rev",))
    report = mg.check_grads(CubeWrongJvp.apply, x, modes=("fwd",))
    assert [c.name for c in report.failures] == ["jvp"]


def test_wrong_jvp_with_both_modes_also_fails_the_identity_row():
    report = mg.check_grads(CubeWrongJvp.apply, mg.tensor(X3, name="x"))
    assert [c.name for c in report.failures] == ["jvp", "<u,Jv>=<J'u,v>"]
    assert report.checks[0].name == "x" and report.checks[0].passed
    # the wrong JVP is 2/3 of the right one along every direction
    jvp_row = report.failures[0]
    np.testing.assert_allclose(jvp_row.analytic, 2 / 3 * jvp_row.numeric, rtol=1e-6)


def test_non_differentiable_vjp_passes_first_order_and_fails_second_order():
    x = mg.tensor(X3, name="x")
    assert mg.gradcheck(CubeConstantVjp.apply, x)
    second = mg.gradgradcheck(CubeConstantVjp.apply, x)
    assert not second
    assert second.title == "gradgradcheck" and str(second).startswith("gradgradcheck FAILED")
    assert all(e.analytic == 0.0 for e in second.failures[0].failures)


def test_non_differentiable_vjp_fails_check_hvp():
    """H = diag(6x); the analytic HVP through the numpy vjp is 0."""
    report = mg.check_hvp(lambda x: CubeConstantVjp.apply(x).sum(), mg.tensor(X3))
    assert not report
    assert [c.name for c in report.failures] == ["hvp 0", "hvp 1", "hvp 2"]
    assert all(e.analytic == 0.0 for c in report.failures for e in c.failures)


def test_non_differentiable_vjp_fails_check_grads_of_order_two():
    report = mg.check_grads(CubeConstantVjp.apply, mg.tensor(X3, name="x"), order=2)
    assert not report
    assert mg.check_grads(CubeConstantVjp.apply, mg.tensor(X3, name="x"), order=1)
    assert [c.name for c in report.failures] == ["x (2nd order)", "hvp 0", "hvp 1", "hvp 2"]
    assert report.checks[0].passed  # the first-order row


def test_check_hvp_raise_exception():
    with pytest.raises(GradcheckError, match="hvp 0"):
        mg.check_hvp(lambda x: CubeConstantVjp.apply(x).sum(), mg.tensor(X3), raise_exception=True)


# ----- detect_anomaly ----------------------------------------------------------------------------

THIS_FILE = pathlib.Path(__file__)


def line_of(marker):
    """The line number in this file of the one line that ends with ``# <marker>``."""
    lines = THIS_FILE.read_text().splitlines()
    (number,) = [i + 1 for i, text in enumerate(lines) if text.endswith(f"# {marker}")]
    return number


def log_of_zero_raises():
    with np.errstate(divide="ignore"):
        try:
            mg.log(mg.tensor(0.0))
        except mg.AnomalyError:
            return True
    return False


def test_log_of_zero_in_forward_names_the_op_the_inputs_and_the_line():
    x = mg.tensor([1.0, 0.0])
    with np.errstate(divide="ignore"), pytest.raises(mg.AnomalyError) as info, mg.detect_anomaly():
        mg.log(x)  # anomaly: forward log
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "Log produced NaN or Inf" in message
    assert "1 Inf" in message
    assert "input 0: shape (2,) float64, min 0, max 1, mean 0.5" in message
    assert f"{THIS_FILE.name}:{line_of('anomaly: forward log')} (mg.log(x)" in message


def test_nan_arising_only_in_backward_names_the_backward_op_and_its_line():
    """sqrt(0) = 0 is fine; its derivative 1 / (2 sqrt(0)) is not."""
    x = mg.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"), pytest.raises(mg.AnomalyError) as info, mg.detect_anomaly():
        y = mg.sqrt(x)  # anomaly: backward sqrt
        np.testing.assert_array_equal(y.data, [0.0, 2.0])
        y.sum().backward()
    message = str(info.value)
    assert "the backward pass of Sqrt" in message
    assert "input 0: shape (2,) float64, min 0, max 4, mean 2" in message
    assert f"{THIS_FILE.name}:{line_of('anomaly: backward sqrt')} (y = mg.sqrt(x)" in message


def test_outside_detect_anomaly_nothing_is_raised():
    assert not log_of_zero_raises()
    x = mg.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        mg.sqrt(x).sum().backward()
    assert np.isinf(x.grad.data[0])


def test_mode_is_restored_after_the_block_and_after_an_exception():
    with mg.detect_anomaly():
        assert log_of_zero_raises()
        with mg.detect_anomaly():
            assert log_of_zero_raises()
        assert log_of_zero_raises()  # the inner block restored the outer one
    assert not log_of_zero_raises()
    with pytest.raises(mg.AnomalyError), mg.detect_anomaly(), np.errstate(divide="ignore"):
        mg.log(mg.tensor(0.0))
    assert not log_of_zero_raises()


def log_of(x):
    return mg.log(x)  # anomaly: log inside jvp


def test_detect_anomaly_works_with_forward_mode():
    x0, t0 = np.array([1.0, 2.0]), np.array([1.0, -3.0])
    with mg.detect_anomaly():
        out, tangent = mg.jvp(log_of, (mg.tensor(x0),), (mg.tensor(t0),))
        np.testing.assert_allclose(out.data, np.log(x0))
        np.testing.assert_allclose(tangent.data, t0 / x0)  # d log x = dx / x
        with np.errstate(divide="ignore"), pytest.raises(mg.AnomalyError) as info:
            mg.jvp(log_of, (mg.tensor([1.0, 0.0]),), (mg.tensor(t0),))
        assert log_of_zero_raises()  # leaving forward mode kept the anomaly mode on
    message = str(info.value)
    assert "Log produced NaN or Inf" in message
    assert f"{THIS_FILE.name}:{line_of('anomaly: log inside jvp')}" in message
    assert not log_of_zero_raises()
    with np.errstate(divide="ignore"):
        out, _ = mg.jvp(log_of, (mg.tensor([1.0, 0.0]),), (mg.tensor(t0),))
    assert np.isneginf(out.data[1])


def test_pytorch_style_tuple_of_inputs_checks_each_input():
    """gradcheck(f, (x, y)) is PyTorch's form; it was read as one stacked (1, n) input, so f got
    the wrong argument and the report described the wrong tensor."""
    x, y = mg.tensor([1.0, 2.0, 3.0]), mg.tensor([0.5, -1.0, 2.0])
    seen = []

    def f(a, b):
        seen.append((a.shape, b.shape))
        return (a * a * b).sum()

    report = mg.gradcheck(f, (x, y))
    assert report.passed and [c.shape for c in report.checks] == [(3,), (3,)]
    assert set(seen) == {((3,), (3,))}
    assert [c.shape for c in mg.check_grads(lambda a: (a**3).sum(), (x,)).checks][0] == (3,)
    bad = np.arange(12.0).reshape(3, 4) / 10
    wrong = mg.gradcheck(lambda a: ExpWrongAtOneElement.apply(a).sum(), [bad])  # list of arrays
    assert not wrong.passed and wrong.checks[0].failures[0].index == (1, 2)
