"""``mg.linalg``: the part of ``torch.linalg`` that minigrad has (norms, and ``matmul``). Any
other name says that minigrad lacks it, by PyTorch's name.

>>> import minigrad as mg
>>> mg.linalg.norm(mg.tensor([3.0, 4.0]))
tensor(5.)
"""

from .errors import missing_names
from .functions.linalg import matmul
from .functions.norms import linalg_norm as norm
from .functions.norms import matrix_norm, vector_norm

__all__ = ["matmul", "matrix_norm", "norm", "vector_norm"]

# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.linalg")
