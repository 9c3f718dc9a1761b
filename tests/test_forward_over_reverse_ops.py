"""Every op-test case through forward-over-reverse: the backward pass on ``Dual`` pairs of
arrays (what ``mg.hvp`` and ``mg.hessian`` run) against the same pass on Tensors (what a
recorded backward runs), bit for bit. The op harness checks each rule's VJP and JVP; this checks
that every VJP rule, written once with ``xp``, computes the same in the ``Dual`` form, including
the operations that go through the Tensor path (``dual.py``)."""

import numpy as np
import pytest
from test_registry import all_cases

import minigrad as mg
from minigrad import autograd
from minigrad.autodiff import forward_mode

CASES = all_cases()


def _products(case, tangents, weights, create_graph):
    """The tangents of the gradient of ``sum(weights * case.fn(*xs))`` in every differentiated
    input; ``create_graph`` picks the Tensor form of the backward pass."""
    xs = []
    for a, t in zip(case.inputs, tangents):
        x = mg.tensor(a, requires_grad=t is not None)
        x.tangent = t
        xs.append(x)
    wanted = [x for x in xs if x.requires_grad]
    with forward_mode(grad_enabled=True):
        out = case.fn(*xs)
        if not out.requires_grad:
            return None
        loss = (out * mg.tensor(weights)).sum()
        grads = autograd.grad(loss, wanted, create_graph=create_graph)
    return [None if g.tangent is None else np.asarray(g.tangent) for g in grads]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_dual_backward_equals_tensor_backward(case):
    rng = np.random.default_rng(3)
    tangents = [rng.standard_normal((2, *a.shape)) if a.dtype.kind == "f" else None
                for a in case.inputs]  # fmt: skip
    if all(t is None for t in tangents):
        pytest.skip("nothing differentiated")
    with mg.no_grad():
        shape = case.fn(*[mg.tensor(a) for a in case.inputs]).shape
    weights = rng.standard_normal(shape)
    try:
        expected = _products(case, tangents, weights, create_graph=True)
    except (mg.errors.MinigradError, NotImplementedError) as error:
        pytest.skip(f"no forward-over-reverse through this case: {error}")
    if expected is None:
        pytest.skip("the output does not require grad")
    got = _products(case, tangents, weights, create_graph=False)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if e is None:
            assert g is None or not np.any(g)
        else:
            np.testing.assert_array_equal(g, e, err_msg=str(case))
