"""``minigrad.nn``: modules, layers, losses and initialisation, with PyTorch's names."""

from ..checking import GradientMonitor, check_module
from ..errors import missing_names
from . import functional, init, utils
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .dropout import Dropout
from .embedding import Embedding
from .layers import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .stateless import functional_call

# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.nn")
