"""Elementwise unary operations (a first family; more cases live beside it)."""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg

rng = np.random.default_rng(0)

CASES = [
    Case("exp 2x3", mg.exp, np.exp, [rng.standard_normal((2, 3))]),
    Case("tanh 0-d", mg.tanh, np.tanh, [np.array(0.3)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)
