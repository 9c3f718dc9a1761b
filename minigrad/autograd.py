"""``mg.autograd``: PyTorch's ``torch.autograd`` functions.

``backward(tensor, grad)`` accumulates into the leaves' ``.grad``; ``grad(outputs, inputs)``
returns the gradients instead; ``toposort`` lists a graph in order, for tools that inspect it;
``forward_mode`` pushes tangents (forward-mode automatic differentiation).
"""

from .autodiff import forward_mode
from .backward import backward, grad, toposort

__all__ = ["backward", "forward_mode", "grad", "toposort"]
