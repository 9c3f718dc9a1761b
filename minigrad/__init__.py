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
from .primitive import Primitive
from . import ops
from .creation import (
    Generator,
    arange,
    default_generator,
    eye,
    full,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from . import errors
from .errors import (
    BackwardError, DTypeError, IndexingError, MinigradError, MissingFeatureError, OpError,
    ShapeError,
)  # fmt: skip
from .functions import (
    abs, add, all, any, argmax, argmin, astype, clip, cos, div, dot, einsum, erf, exp, expm1, log,
    log1p, logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, outer, pow, prod, relu,
    sigmoid, sign, sin, sqrt, std, sub, sum, tan, tanh, var, where,
)  # fmt: skip
from .functions import (
    broadcast_to, concatenate, expand_dims, flatten, moveaxis, pad, repeat, reshape, split,
    squeeze, stack, swapaxes, tile, transpose,
)  # fmt: skip
from . import autograd  # torch-style: mg.autograd.grad(output, inputs)
from .transforms import grad, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
from .hessians import HessianTooLarge, hessian, hvp
from .checking import GradcheckReport, check_grads, check_hvp, gradcheck, gradgradcheck
from .serialization import CheckpointError, load, save
from . import nn, optim, viz  # noqa: E402  (build on everything above)

__version__ = "0.1.0"


def __getattr__(name: str):
    # Only reached for a name minigrad lacks: say so by PyTorch's name (``torch.fft``).
    if name.startswith("_"):
        raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
    raise errors.missing("torch", name)
