"""Gradient checking: derivatives against finite differences, always in float64.

``mg.gradcheck`` and ``mg.gradgradcheck`` check reverse mode element by element (``reverse``);
``mg.check_grads`` and ``mg.check_hvp`` forward mode, the link between the modes and
Hessian-vector products (``modes``); ``mg.nn.check_module`` a model's parameters (``modules``,
``directional``, on the model's float64 ``twin``), and ``mg.nn.GradientMonitor`` a model while it
trains (``monitor``: norms, updates, the noise scale and sharpness of ``dynamics``, checks, and
the ``dashboard``). Each returns a ``GradcheckReport`` (``report``), built from
the finite differences of ``numeric`` at the float64 copies of ``inputs``.
"""

from .modes import check_grads, check_hvp
from .modules import check_module
from .monitor import GradientMonitor
from .report import (
    ElementError,
    GradcheckError,
    GradcheckNotice,
    GradcheckReport,
    InputCheck,
    WrongRule,
)
from .reverse import gradcheck, gradgradcheck

__all__ = [
    "ElementError",
    "GradcheckError",
    "GradcheckNotice",
    "GradcheckReport",
    "GradientMonitor",
    "InputCheck",
    "WrongRule",
    "check_grads",
    "check_hvp",
    "check_module",
    "gradcheck",
    "gradgradcheck",
]
