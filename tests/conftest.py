"""The unit tests run with float64 as the default dtype, as PyTorch's own test suite does for its
gradient checks; what users run (the docs, the README, the examples, the demo, the docstrings'
examples) runs under minigrad's real default, float32: ``float32_default`` gives it to a test.
"""

import pathlib
import sys

import pytest

import minigrad as mg

# Let test modules import the shared harness (tests/harness.py) by name.
sys.path.insert(0, str(pathlib.Path(__file__).parent))

REAL_DEFAULT = mg.get_default_dtype()  # what a user's script gets

# Test modules build cases and tensors when they are collected, so float64 from here on, until
# collection is over (pytest_collection_finish); then each test sets it (float64_default).
mg.set_default_dtype(mg.float64)


def pytest_collection_finish(session):
    # The doctests in minigrad/ run after the tests, under the real default.
    mg.set_default_dtype(REAL_DEFAULT)


@pytest.fixture(autouse=True)
def float64_default():
    """Every test in tests/ runs with float64 as the default dtype (restored afterwards)."""
    saved = mg.get_default_dtype()
    mg.set_default_dtype(mg.float64)
    yield
    mg.set_default_dtype(saved)


@pytest.fixture
def float32_default(float64_default):
    """The test runs under minigrad's real default dtype, float32, as a user's script does."""
    mg.set_default_dtype(mg.float32)
    yield
