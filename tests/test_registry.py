"""Every built-in primitive has rules and at least one op-test case that exercises it."""

import importlib
import pathlib

import pytest
from harness import primitives_used

from minigrad import autodiff

CASE_MODULES = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("test_ops_*.py"))


def builtin_primitives():
    return {
        name: cls
        for name, cls in autodiff.registry.items()
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
        assert owner is not autodiff.Primitive, f"{name} inherits the placeholder {rule}"


def test_every_primitive_has_a_test_case():
    covered = set()
    for case in all_cases():
        covered |= primitives_used(case)
    missing = set(builtin_primitives()) - covered
    assert not missing, f"primitives without an op-test case: {sorted(missing)}"
