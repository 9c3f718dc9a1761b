"""``minigrad.optim``: optimizers with PyTorch's names, update rules and state dicts."""

from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .optimizer import Optimizer, OptimizerError
from .sgd import SGD
