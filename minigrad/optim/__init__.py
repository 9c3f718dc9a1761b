"""``minigrad.optim``: optimizers with PyTorch's names, update rules and state dicts."""

from ..errors import missing
from . import curvature, lr_scheduler
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .lbfgs import LBFGS
from .line_search import backtracking_armijo, strong_wolfe
from .newton import Newton
from .newton_cg import NewtonCG
from .optimizer import Optimizer, OptimizerError
from .sgd import SGD


def __getattr__(name: str):
    # Only reached for a name minigrad lacks: say so by PyTorch's name.
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise missing("torch.optim", name)
