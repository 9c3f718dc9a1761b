"""``minigrad.optim``: optimizers with PyTorch's names, update rules and state dicts."""

from . import curvature, lr_scheduler
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .lbfgs import LBFGS
from .line_search import backtracking_armijo, strong_wolfe
from .newton import Newton
from .newton_cg import NewtonCG
from .optimizer import Optimizer, OptimizerError
from .sgd import SGD
