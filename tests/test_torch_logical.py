"""Bool algebra as PyTorch's: ``&``, ``|``, ``^``, ``~`` (logical on bool tensors, bitwise on
integers, refused on floats), their reflections, ``logical_and/or/xor/not`` on any dtype, no
gradient. The truth tables are written out."""

import operator

import numpy as np
import pytest

import minigrad as mg

A = [False, False, True, True]
B = [False, True, False, True]
TABLES = {  # the result for each (a, b) pair of A and B
    "and": (operator.and_, mg.logical_and, [False, False, False, True]),
    "or": (operator.or_, mg.logical_or, [False, True, True, True]),
    "xor": (operator.xor, mg.logical_xor, [False, True, True, False]),
}


@pytest.mark.parametrize("op, logical, table", TABLES.values(), ids=list(TABLES))
def test_truth_tables_of_bool_tensors(op, logical, table):
    a, b = mg.tensor(A), mg.tensor(B)
    for result in (op(a, b), logical(a, b), getattr(a, f"logical_{op.__name__.strip('_')}")(b)):
        assert result.dtype == np.bool_ and result.tolist() == table
    assert op(a, b).tolist() == getattr(mg, f"bitwise_{op.__name__.strip('_')}")(a, b).tolist()


def test_not():
    a = mg.tensor(A)
    assert (~a).tolist() == [True, True, False, False]
    assert mg.logical_not(a).tolist() == a.logical_not().tolist() == (~a).tolist()
    assert a.bitwise_not().tolist() == (~a).tolist()


@pytest.mark.parametrize("op, logical, table", TABLES.values(), ids=list(TABLES))
def test_with_python_bools_and_numpy_arrays_on_either_side(op, logical, table):
    a = mg.tensor(A)
    assert op(a, True).tolist() == [op(x, True) for x in A]
    assert op(True, a).tolist() == [op(True, x) for x in A]  # reflected
    reflected = op(np.array(B), a)  # numpy defers to the tensor
    assert isinstance(reflected, mg.Tensor) and reflected.tolist() == table
    assert op(a, True).dtype == np.bool_  # a Python bool keeps a bool tensor bool


def test_integers_are_bitwise():
    """PyTorch: tensor([5, 3]) & 6 == tensor([4, 2]), ~tensor([5]) == tensor([-6]), and a bool
    tensor & an int is an int tensor: tensor([True, False]) & 1 == tensor([1, 0])."""
    x = mg.tensor([5, 3])
    assert (x & 6).tolist() == [4, 2] and (x | 8).tolist() == [13, 11]
    assert (12 ^ mg.tensor([10])).tolist() == [6] and (~mg.tensor([5])).tolist() == [-6]
    masked = mg.tensor([True, False]) & 1
    assert masked.dtype == np.int64 and masked.tolist() == [1, 0]
    assert (mg.tensor([True, False]) & mg.tensor([3, 3])).tolist() == [1, 0]


@pytest.mark.parametrize(
    "call, symbol",
    [(lambda x: x & x, "&"), (lambda x: x | True, "|"), (lambda x: 1 ^ x, r"\^"),
     (lambda x: ~x, "~")],
)  # fmt: skip
def test_floats_are_refused_naming_the_fix(call, symbol):
    """PyTorch: "bitwise_and_cpu" not implemented for 'Float'; ~ is "only implemented on
    integer and Boolean-type tensors"."""
    with pytest.raises(mg.DTypeError, match=rf"\({symbol}\): only bool and integer tensors, got "
                                            r"float64.*compare first.*mg\.logical_"):  # fmt: skip
        call(mg.tensor([1.0, 0.0]))


def test_logical_functions_take_any_dtype_and_give_bool():
    x, y = mg.tensor([1.0, 0.0, -2.0]), mg.tensor([2, 2, 0])
    assert mg.logical_and(x, y).tolist() == [True, False, False]
    assert mg.logical_or(x, y).tolist() == [True, True, True]
    assert mg.logical_xor(x, 0).tolist() == [True, False, True]
    assert mg.logical_not(y).tolist() == [False, False, True]
    assert mg.logical_and(True, False).tolist() is False  # two Python bools


def test_no_gradient_flows_through_bool_algebra():
    x = mg.tensor([1.0, 0.0], requires_grad=True)
    result = mg.logical_and(x, x)
    assert not result.requires_grad and result.is_leaf
    mask = (x > 0) & (x < 2)
    assert not mask.requires_grad and mask.tolist() == [True, False]


def test_broadcasting_and_its_errors():
    column = mg.tensor([[True], [False]])
    assert (column & mg.tensor([True, False, True])).tolist() == [[True, False, True],
                                                                    [False, False, False]]  # fmt: skip
    with pytest.raises(mg.ShapeError, match="bitwise_or: shapes"):
        mg.tensor([True, False]) | mg.tensor([True, False, True])
