"""minigrad: automatic differentiation on numpy, written to be read and trusted.

>>> import minigrad as mg
>>> x = mg.tensor(3.0, requires_grad=True)
>>> y = x * x + 2 * x
>>> y.backward()
>>> x.grad
tensor(8.)
"""

# The layers bottom up (DESIGN.md): the engine, Tensor, primitives, operations, the rest.
from . import autodiff  # noqa: I001
from .autodiff import (
    detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled,
)  # fmt: skip
from .anomaly import AnomalyError
from .tensor import Tensor
from .methods.shape import Size
from .primitive import Primitive
from . import ops
from .dtypes import (
    bool, cdouble, cfloat, complex64, complex128, double, finfo, float, float16, float32, float64,
    get_default_dtype, half, iinfo, int, int8, int16, int32, int64, long, set_default_dtype,
    short, uint8,
)  # fmt: skip
from .devices import device
from .creation import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace,
    ones, ones_like, tensor, zeros, zeros_like,
)  # fmt: skip
from .random import (
    Generator, bernoulli, default_generator, get_rng_state, initial_seed, manual_seed,
    multinomial, normal, rand, rand_like, randint, randint_like, randn, randn_like, randperm,
    seed, set_rng_state,
)  # fmt: skip
from . import backends, cuda
from . import errors
from .errors import (
    ArgumentError, BackwardError, DTypeError, IndexingError, MinigradError, MissingFeatureError,
    OpError, ShapeError,
)  # fmt: skip
from .functions import (
    abs, add, astype, ceil, clamp, clip, cos, div, erf, exp, expm1, floor, log, log1p, log2, log10,
    maximum, minimum, mul, neg, pow, reciprocal, relu, round, rsqrt, sigmoid, sign, sin, sqrt,
    square, sub, tan, tanh, trunc, where, floor_divide, remainder,
    allclose, equal, isclose,
    all, amax, amin, any, argmax, argmin, count_nonzero, logsumexp, max, mean, min, prod, std, sum,
    var, cumprod, cumsum, log_softmax, softmax, argsort, sort, topk,
    bmm, dot, einsum, matmul, mm, norm, outer, return_types,
)  # fmt: skip
from .functions import (
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor, is_complex, is_floating_point, is_tensor,
    logical_and, logical_not, logical_or, logical_xor,
)  # fmt: skip
from .functions import (
    broadcast_to, expand_dims, flatten, movedim, moveaxis, numel, permute, reshape, squeeze,
    swapaxes, swapdims, t, transpose, unflatten, unsqueeze,
    cat, chunk, concat, concatenate, flip, hstack, narrow, repeat_interleave, roll, split, stack,
    tile, vstack,
    gather, index_select, masked_fill, scatter, scatter_add, take, take_along_dim, tril, triu,
)  # fmt: skip
from . import linalg  # torch.linalg: norm, vector_norm, matrix_norm
from . import autograd  # torch-style: mg.autograd.grad(output, inputs)
from .transforms import grad, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
from .hessians import HessianTooLarge, hessian, hvp
from .checking import GradcheckReport, check_grads, check_hvp, gradcheck, gradgradcheck
from .serialization import CheckpointError, load, save
from . import curvature, nn, optim, utils, viz  # noqa: E402  (build on everything above)
from .capture import CompileError, CompileWarning, compile
from .batching import BatchingError, BatchingWarning
from .vectorize import vmap
from . import func  # torch.func: functional_call, vmap, grad, grad_and_value, ...

from . import memory

__version__ = "0.1.0"

# Freed arrays stay with malloc for the next step instead of coming back as fresh pages
# (memory.py says what this changes and how to opt out).
memory.keep_freed_from_environment()

# A name minigrad lacks is named by PyTorch's (``torch.fft``).
__getattr__ = errors.missing_names(__name__, "torch")
