"""Every built-in primitive has rules and at least one op-test case that exercises it."""

import importlib
import pathlib

import numpy as np
import pytest
from harness import primitives_used

import minigrad as mg

CASE_MODULES = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("test_ops_*.py"))


def builtin_primitives():
    return {
        name: cls
        for name, cls in mg.ops.registry.items()
        if cls.__module__.startswith("minigrad.ops")
    }


def all_cases():
    cases = []
    for module in CASE_MODULES:
        cases.extend(importlib.import_module(module).CASES)
    return cases


@pytest.mark.parametrize("name", sorted(builtin_primitives()))
def test_primitive_has_all_three_rules(name):
    cls = builtin_primitives()[name]
    for rule in ("forward", "vjp", "jvp"):
        owner = next(k for k in cls.__mro__ if rule in vars(k))
        assert owner is not mg.Primitive, f"{name} inherits the placeholder {rule}"


def test_every_primitive_has_a_test_case():
    covered = set()
    for case in all_cases():
        covered |= primitives_used(case)
    missing = set(builtin_primitives()) - covered
    assert not missing, f"primitives without an op-test case: {sorted(missing)}"


def float32_tensors(case):
    return [
        mg.tensor(
            a.astype(np.float32) if a.dtype == np.float64 else a, requires_grad=a.dtype.kind == "f"
        )
        for a in case.inputs
    ]


def float32_differentiable(case) -> bool:
    """Whether the case, given float32 inputs, gives a float32 result that requires grad (a
    float64 constant in it makes the result float64, by numpy's promotion)."""
    out = case.fn(*float32_tensors(case))
    return out.requires_grad and out.dtype == np.float32


@pytest.mark.parametrize("case", [c for c in all_cases() if float32_differentiable(c)], ids=str)
@pytest.mark.parametrize("create_graph", [False, True])
def test_float32_inputs_get_float32_gradients(case, create_graph):
    """A gradient has its input's dtype (as in PyTorch), on the array path of a plain backward
    and on the Tensor path alike."""
    xs = float32_tensors(case)
    out = case.fn(*xs)
    out.backward(np.ones(out.shape, np.float32), create_graph=create_graph)
    grads = [(i, x.grad) for i, x in enumerate(xs) if x.requires_grad and x.grad is not None]
    assert grads, f"{case}: no gradient came back"
    for i, g in grads:
        assert g.dtype == np.float32, f"{case}: input {i} got a {g.dtype} gradient"
