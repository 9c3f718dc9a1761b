"""``minigrad.optim``: optimizers with PyTorch's names, update rules and state dicts."""

from ..errors import missing_names
from . import lr_scheduler
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .lbfgs import LBFGS
from .line_search import backtracking_armijo, strong_wolfe
from .newton import Newton
from .newton_cg import NewtonCG
from .optimizer import Optimizer, OptimizerError
from .sgd import SGD
from .sophia import Sophia

# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.optim")
