"""``minigrad.nn``: modules, layers, losses and initialisation, with PyTorch's names."""

from . import functional, init
from .checking import GradientMonitor, check_module
from .layers import Flatten, Identity, Linear
from .module import Module, ModuleList, Parameter, Sequential, StateDictError
