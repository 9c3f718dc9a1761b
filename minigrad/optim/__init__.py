"""``minigrad.optim``: optimizers with PyTorch's names, update rules and state dicts."""

from .optimizer import Optimizer, OptimizerError
from .sgd import SGD
