"""minigrad's primitives, one class each with forward, vjp and jvp rules.

``registry`` maps each primitive's name to its class; the test suite enumerates it.
"""

from ..primitive import Primitive, registry
from .binary import Add, Div, Maximum, Minimum, Mul, Pow, Sub, Where
from .conv import Convolution
from .elementwise import (
    Abs,
    Cast,
    Cos,
    Exp,
    Expm1,
    Log,
    Log1p,
    Neg,
    Relu,
    Sigmoid,
    Sin,
    Sqrt,
    Tan,
    Tanh,
)
from .indexing import GetItem, ScatterAdd
from .linalg import Affine, Einsum, MatMul
from .math import ArrayMath
from .normalization import LayerNorm
from .pooling import MaxPool, Pick, Unpool
from .recurrent import GRUStep, LSTMStep
from .reduce import Max, Min, Prod, Sum
from .scan import CumProd, CumSum
from .shape import BroadcastTo, Concatenate, Reshape, Transpose
from .softmax import LogSoftmax, NllMean, Softmax
from .special import Erf, GeluTanh
from .steps import Step
from .window import Fold, Unfold
