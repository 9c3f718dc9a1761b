"""The op-test harness: one ``Case`` per (operation, shapes) checked the same way every time.

``check_case`` asserts, in float64:
  1. the forward value against a numpy reference;
  2. reverse mode (VJP) against central finite differences (``mg.gradcheck``);
  3. second derivatives through ``create_graph=True`` (``mg.gradgradcheck``) when ``smooth``;
  4. forward mode (JVP) with a batch of tangents (B = 1 and B = 3) against finite differences
     of the function along each tangent, then with a tangent on one input at a time;
  5. the VJP on Tensors (``create_graph=True``) against the VJP on arrays (a plain backward,
     see ``Primitive.array_cotangents``): step 2 checks only the plain one.
``primitives_used`` reads the forward tape, so the registry test knows which primitives a case
covers (no case declares coverage by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad import autodiff


@dataclass
class Case:
    name: str
    fn: Callable  # Tensors -> Tensor
    ref: Callable  # ndarrays -> ndarray (numpy's answer)
    inputs: list  # ndarrays (float64 ones are differentiated)
    smooth: bool = True  # check second derivatives too
    atol: float = 1e-6
    rtol: float = 1e-4
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def primitives_used(case: Case) -> set[str]:
    """Names of the primitives on the forward tape of the case's output."""
    xs = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in case.inputs]
    out = case.fn(*xs)
    if not out.requires_grad:
        return set()
    return {t._node.prim.__name__ for t in mg.autograd.toposort(out) if t._node is not None}


def finite_difference_jvp(fn, arrays, tangents, eps=1e-6):
    """(f(x + eps t) - f(x - eps t)) / 2 eps for one tangent per differentiated input."""

    def at(sign):
        moved = [a + sign * eps * t if t is not None else a for a, t in zip(arrays, tangents)]
        with mg.no_grad():
            return fn(*[mg.tensor(m) for m in moved]).data

    return (at(1) - at(-1)) / (2 * eps)


def check_forward(case: Case):
    out = case.fn(*[mg.tensor(a) for a in case.inputs])
    expected = np.asarray(case.ref(*case.inputs))
    assert out.shape == expected.shape, f"{case}: shape {out.shape} != numpy's {expected.shape}"
    assert out.dtype == expected.dtype, f"{case}: dtype {out.dtype} != numpy's {expected.dtype}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12, err_msg=str(case))


def check_vjp(case: Case):
    report = mg.gradcheck(case.fn, *case.inputs, atol=case.atol, rtol=case.rtol)
    assert report, f"{case}\n{report}"


def check_second_order(case: Case):
    report = mg.gradgradcheck(case.fn, *case.inputs, atol=case.atol, rtol=case.rtol)
    assert report, f"{case}\n{report}"


def check_jvp(case: Case, batch: int, seed: int = 0, only: int | None = None):
    """Forward mode against finite differences along each tangent; with ``only``, just that
    input carries a tangent (a rule must still return one of the output's full shape)."""
    rng = np.random.default_rng(seed)
    diff = [a.dtype.kind == "f" and only in (None, i) for i, a in enumerate(case.inputs)]
    tangents = [rng.standard_normal((batch, *a.shape)) if d else None
                for a, d in zip(case.inputs, diff)]  # fmt: skip
    with autodiff.forward_mode():
        xs = []
        for a, t in zip(case.inputs, tangents):
            x = mg.tensor(a)
            x.tangent = t
            xs.append(x)
        out = case.fn(*xs)
    assert out.tangent is not None, f"{case}: no tangent came out"
    assert out.tangent.shape == (batch, *out.shape), f"{case}: tangent {out.tangent.shape}"
    for b in range(batch):
        expected = finite_difference_jvp(
            case.fn, case.inputs, [None if t is None else t[b] for t in tangents]
        )
        np.testing.assert_allclose(
            out.tangent[b], expected, atol=case.atol * 10, rtol=case.rtol * 10,
            err_msg=f"{case}: tangent {b} of {batch}",
        )  # fmt: skip


def check_tensor_vjp(case: Case):
    """The gradients a ``create_graph`` backward computes with Tensor cotangents, against the
    plain backward's (array cotangents, checked against finite differences by ``check_vjp``)."""
    shape = case.fn(*[mg.tensor(a) for a in case.inputs]).shape
    cotangent = np.random.default_rng(1).standard_normal(shape)  # every output element counts

    def gradients(create_graph):
        xs = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in case.inputs]
        out = case.fn(*xs)
        if out.requires_grad:
            out.backward(cotangent, create_graph=create_graph)
        return [x.grad for x in xs if x.requires_grad]

    for plain, recorded in zip(gradients(False), gradients(True), strict=True):
        assert (plain is None) == (recorded is None), f"{case}: a gradient is on one path only"
        if plain is not None:
            np.testing.assert_allclose(
                recorded.data, plain.data, rtol=1e-12, atol=1e-12, err_msg=str(case)
            )


def check_case(case: Case):
    check_forward(case)
    check_vjp(case)
    check_tensor_vjp(case)
    if case.smooth:
        check_second_order(case)
    check_jvp(case, batch=1)
    check_jvp(case, batch=3)
    differentiated = [i for i, a in enumerate(case.inputs) if a.dtype.kind == "f"]
    if len(differentiated) > 1:
        for i in differentiated:
            check_jvp(case, batch=2, only=i)
