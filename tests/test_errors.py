"""Every user mistake raises a minigrad error that names the operation and the shapes involved.

Each case lists the mistake, the error class, a pattern for the operation's name, and strings
(shapes, dtypes, the fix) that the message must contain. No numpy error leaks through.
"""

from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F


@dataclass
class Mistake:
    name: str
    make: object  # () -> anything; must raise
    error: type
    op: str  # a regex that must match the message (the operation's name)
    mentions: list = field(default_factory=list)  # substrings the message must contain

    def __str__(self) -> str:
        return self.name


def x23():
    return mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)


def x3():
    return mg.tensor([1.0, 2.0, 3.0], requires_grad=True)


def backward_without_grad():
    (x23() * 2).backward()


def backward_without_requires_grad():
    mg.tensor([1.0, 2.0]).sum().backward()


def backward_with_wrong_grad_shape():
    (x23() * 2).backward(mg.ones(3, 2))


def grad_of_non_scalar():
    x = x23()
    mg.autograd.grad(x * 2, [x])


def setitem_out_of_range():
    x = mg.tensor([1.0, 2.0, 3.0])
    x[5] = 0.0


SHAPE = mg.ShapeError
MISTAKES = [
    # ----- broadcasting -----
    Mistake("add broadcast", lambda: x23() + mg.ones(4), SHAPE, "add", ["(2, 3)", "(4,)"]),
    Mistake("add constants", lambda: mg.ones(2, 3) + mg.ones(4), SHAPE, "add", ["(2, 3)", "(4,)"]),
    Mistake(
        "mul broadcast", lambda: mg.mul(mg.ones(3, 2), x23()), SHAPE, "mul", ["(3, 2)", "(2, 3)"]
    ),
    Mistake("sub broadcast", lambda: x3() - mg.ones(2), SHAPE, "sub", ["(3,)", "(2,)"]),
    Mistake(
        "where broadcast",
        lambda: mg.where(np.array([True, False]), x3(), mg.zeros(3)),
        SHAPE,
        "where",
        ["(2,)", "(3,)"],
    ),
    # ----- matmul -----
    Mistake("matmul inner", lambda: x23() @ mg.ones(2, 4), SHAPE, "matmul", ["(2, 3)", "(2, 4)"]),
    Mistake(
        "matmul vector", lambda: mg.matmul(x23(), mg.ones(4)), SHAPE, "matmul", ["(2, 3)", "(4,)"]
    ),
    Mistake(
        "matmul 0-d left",
        lambda: mg.matmul(mg.tensor(2.0), x23()),
        SHAPE,
        "matmul",
        ["()", "(2, 3)"],
    ),
    Mistake("matmul 0-d right", lambda: x3() @ mg.tensor(2.0), SHAPE, "matmul", ["(3,)", "()"]),
    # ----- reshape -----
    Mistake("reshape size", lambda: x23().reshape(4, 2), SHAPE, "reshape", ["(2, 3)", "(4, 2)"]),
    Mistake("reshape -1", lambda: x23().reshape(4, -1), SHAPE, "reshape", ["(2, 3)", "(4, -1)"]),
    Mistake("reshape two -1", lambda: x23().reshape(-1, -1), SHAPE, "reshape", ["(2, 3)"]),
    # ----- axes -----
    Mistake("sum axis range", lambda: x23().sum(axis=2), SHAPE, "sum", ["dim 2", "(2, 3)"]),
    Mistake(
        "sum axis repeat", lambda: x23().sum(axis=(1, -1)), SHAPE, "sum", ["(1, -1)", "(2, 3)"]
    ),
    Mistake("max axis range", lambda: x23().max(axis=-3), SHAPE, "max", ["-3", "(2, 3)"]),
    Mistake("max axis repeat", lambda: x23().max(axis=(0, 0)), SHAPE, "max", ["(0, 0)", "(2, 3)"]),
    Mistake("mean axis range", lambda: mg.mean(x3(), axis=1), SHAPE, "mean", ["dim 1", "(3,)"]),
    Mistake(
        "mean axis repeat",
        lambda: mg.mean(x23(), axis=(0, -2)),
        SHAPE,
        "mean",
        ["(0, -2)", "(2, 3)"],
    ),
    Mistake("squeeze dim range", lambda: mg.squeeze(x3(), 1), SHAPE, "squeeze", ["dim 1", "(3,)"]),
    Mistake("unsqueeze range", lambda: x23().unsqueeze(3), SHAPE, "unsqueeze", ["3", "(2, 3)"]),
    Mistake(
        "expand_dims range",
        lambda: mg.expand_dims(x23(), 4),
        SHAPE,
        "expand_dims",
        ["dim 4", "(2, 3)"],
    ),
    Mistake(
        "expand_dims repeat",
        lambda: mg.expand_dims(x23(), (0, 0)),
        SHAPE,
        "expand_dims",
        ["(0, 0)", "(2, 3)"],
    ),
    Mistake(
        "concatenate axis range",
        lambda: mg.concatenate([x23(), x23()], axis=2),
        SHAPE,
        "cat",
        ["dim 2", "(2, 3)"],
    ),
    # ----- joining, splitting, broadcasting, padding -----
    Mistake(
        "concatenate shapes",
        lambda: mg.concatenate([x23(), mg.ones(3, 3)], axis=1),
        SHAPE,
        "cat",
        ["(2, 3)", "(3, 3)"],
    ),
    Mistake(
        "concatenate ndim",
        lambda: mg.concatenate([x23(), mg.ones(3)], axis=0),
        SHAPE,
        "cat",
        ["(2, 3)", "(3,)"],
    ),
    Mistake("stack shapes", lambda: mg.stack([x3(), mg.ones(2)]), SHAPE, "stack", ["(3,)", "(2,)"]),
    Mistake(
        "broadcast_to",
        lambda: mg.broadcast_to(x23(), (3, 3)),
        SHAPE,
        "broadcast_to",
        ["(2, 3)", "(3, 3)"],
    ),
    Mistake(
        "broadcast_to fewer axes",
        lambda: x23().broadcast_to((3,)),
        SHAPE,
        "broadcast_to",
        ["(2, 3)", "(3,)"],
    ),
    Mistake(
        "split sizes", lambda: mg.split(x23(), [1, 1], 1), SHAPE, "split", ["(2, 3)", "[1, 1]"]
    ),
    Mistake("pad negative", lambda: F.pad(x23(), (-4, 0)), SHAPE, "pad", ["(2, 3)", "(-4, 0)"]),
    Mistake("pad too many pairs", lambda: F.pad(x23(), (1,) * 6), SHAPE, "pad", ["(2, 3)"]),
    Mistake(
        "pad mode",
        lambda: F.pad(x23(), (1, 1), mode="mirror"),
        mg.OpError,
        "pad",
        ["'mirror'", "'constant'"],
    ),
    # ----- indexing -----
    Mistake("index range", lambda: x3()[3], mg.IndexingError, "(?i)getitem", ["3", "(3,)"]),
    Mistake(
        "index range axis 1",
        lambda: x23()[:, -4],
        mg.IndexingError,
        "(?i)getitem",
        ["-4", "(2, 3)"],
    ),
    Mistake(
        "index array range",
        lambda: x3()[np.array([0, 7])],
        mg.IndexingError,
        "(?i)getitem",
        ["7", "(3,)"],
    ),
    Mistake("too many indices", lambda: x3()[0, 0], mg.IndexingError, "(?i)getitem", ["(3,)"]),
    Mistake(
        "float index array",
        lambda: x3()[np.array([0.0, 1.0])],
        mg.IndexingError,
        "(?i)getitem",
        ["float64"],
    ),
    Mistake("float index", lambda: x3()[1.0], mg.IndexingError, "(?i)getitem", ["float"]),
    Mistake(
        "setitem out of range", setitem_out_of_range, mg.IndexingError, "(?i)setitem", ["5", "(3,)"]
    ),
    # ----- backward -----
    Mistake(
        "backward non-scalar",
        backward_without_grad,
        mg.BackwardError,
        "backward",
        ["(2, 3)", ".sum()", "grad"],
    ),
    Mistake("grad non-scalar", grad_of_non_scalar, mg.BackwardError, "grad", ["(2, 3)", ".sum()"]),
    Mistake(
        "backward no requires_grad",
        backward_without_requires_grad,
        mg.BackwardError,
        "backward",
        ["requires_grad"],
    ),
    Mistake(
        "backward grad shape",
        backward_with_wrong_grad_shape,
        mg.BackwardError,
        "backward",
        ["(3, 2)", "(2, 3)"],
    ),
    # ----- dtypes -----
    Mistake(
        "int requires_grad",
        lambda: mg.tensor([1, 2], requires_grad=True),
        mg.DTypeError,
        "requires_grad",
        ["int64"],
    ),
    Mistake(
        "bool requires_grad",
        lambda: mg.tensor([True], requires_grad=True),
        mg.DTypeError,
        "requires_grad",
        ["bool"],
    ),
    Mistake(
        "int requires_grad_",
        lambda: mg.arange(3).requires_grad_(),
        mg.DTypeError,
        "requires_grad",
        ["int64"],
    ),
    Mistake(
        "int zeros requires_grad",
        lambda: mg.zeros(2, dtype=np.int32, requires_grad=True),
        mg.DTypeError,
        "requires_grad",
        ["int32"],
    ),
    # ----- conversions -----
    Mistake("item of many", lambda: x23().item(), mg.OpError, "item", ["(2, 3)"]),
    Mistake("float of many", lambda: float(x3()), mg.OpError, "item", ["(3,)"]),
    Mistake(
        "bool of many",
        lambda: bool(mg.tensor([1.0, 2.0]) > 0),
        mg.OpError,
        "truth value",
        ["(2,)", "any", "all"],
    ),
    # ----- einsum -----
    Mistake("einsum operands", lambda: mg.einsum("ij,jk->ik", x23()), SHAPE, "einsum", ["2", "1"]),
    Mistake(
        "einsum letters", lambda: mg.einsum("ijk->i", x23()), SHAPE, "einsum", ["ijk", "(2, 3)"]
    ),
    Mistake(
        "einsum letters second",
        lambda: mg.einsum("ij,j->i", x23(), mg.ones(3, 1)),
        SHAPE,
        "einsum",
        ["(3, 1)"],
    ),
    # ----- raised numpy's or Python's error before -----
    Mistake(
        "matmul batch axes",
        lambda: mg.randn(2, 3, 4) @ mg.randn(5, 4, 2),
        SHAPE,
        "matmul",
        ["(2, 3, 4)", "(5, 4, 2)", "batch axes"],
    ),
    Mistake("float axis", lambda: x23().max(axis=1.0), SHAPE, "max", ["dim=1.0", "(2, 3)"]),
    Mistake("string tensor", lambda: mg.tensor(["a"]) + 1, mg.DTypeError, "tensor", ["<U1"]),
    Mistake("astype str", lambda: x3().astype(str), mg.DTypeError, "astype", ["float64"]),
    Mistake(
        "randint low >= high",
        lambda: mg.randint(5, 2, (3,)),
        mg.OpError,
        "randint",
        ["low=5", "high=2"],
    ),  # fmt: skip
    Mistake("negative size", lambda: mg.zeros(-1, 3), SHAPE, "zeros", ["(-1, 3)", ">= 0"]),
    Mistake("argmax of empty", lambda: mg.zeros(0).argmax(), SHAPE, "argmax", ["(0,)", "empty"]),
    Mistake(
        "backward of a string",
        lambda: (x3() * 2).sum().backward("abc"),
        mg.BackwardError,
        "backward",
        ["'abc'", "ones_like"],
    ),
    Mistake("draw a number", lambda: mg.viz.draw(3.0), mg.viz.GraphError, "viz.draw", ["float"]),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_mistake_raises_a_clear_minigrad_error(mistake):
    with pytest.raises(mistake.error, match=mistake.op) as info:
        mistake.make()
    message = str(info.value)
    for text in mistake.mentions:
        assert text in message, f"{text!r} missing from: {message}"


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_mistake_is_a_minigrad_error_not_a_numpy_one(mistake):
    with pytest.raises(Exception) as info:
        mistake.make()
    assert isinstance(info.value, mg.MinigradError), f"{type(info.value).__module__}: {info.value}"


@pytest.mark.parametrize(
    "error, builtin",
    [
        (mg.ShapeError, ValueError),
        (mg.DTypeError, TypeError),
        (mg.BackwardError, RuntimeError),
        (mg.IndexingError, IndexError),
        (mg.OpError, ValueError),
    ],
)
def test_errors_are_builtin_subclasses(error, builtin):
    """Code that catches ValueError, TypeError, ... keeps working."""
    assert issubclass(error, mg.MinigradError)
    assert issubclass(error, builtin)


def test_len_of_0d_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="0-d"):
        len(mg.tensor(1.0))


def test_a_failed_mistake_leaves_grad_mode_and_tensors_intact():
    x = x23()
    with pytest.raises(mg.ShapeError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        x + mg.ones(4)
    assert mg.is_grad_enabled()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.arange(6.0).reshape(2, 3))
