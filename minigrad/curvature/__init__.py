"""``minigrad.curvature``: the curvature of a loss, seen and used (docs/curvature.md).

- Eigenvalues and spectra: ``hessian_eigenvalues`` (Lanczos or power iteration),
  ``top_hessian_eigenvalues`` (power iteration with deflation), ``exact_hessian_spectrum``,
  ``hessian_spectral_density`` (stochastic Lanczos quadrature), ``hessian_trace``.
- Gauss-Newton and Fisher: ``ggn_vector_product``, ``gauss_newton_matrix``, ``empirical_fisher``,
  ``per_sample_gradients`` (by ``mg.vmap`` given the loss of one example and ``examples=``);
  diagonals: ``hessian_diagonal``, ``ggn_diagonal``, ``fisher_diagonal``.
- Learning rates: ``suggest_lr`` (``1/lambda_max``, ``det(H)^(-1/n)``, or ``1/|diag H|``).
- Landscapes: ``loss_landscape``, ``trajectory_directions``.

Why the curvature sets the learning rate: see ``learning_rates`` and docs/curvature.md.

Most of these tools never build ``H``: they need only products ``H @ v``, which ``mg.hvp``
computes by forward-over-reverse at about the cost of two gradients, so they work for models
whose Hessian would not fit in memory.

Every tool takes the loss in either form users have (see ``loss_operator``): a function of the
list of parameters, ``loss_fn(params)``, or a PyTorch-style closure over a model,
``lambda: loss_fn(model(x), y)``, with ``params=list(model.parameters())``. Vectors over the
parameters are their flattened values concatenated in order (the layout of
``mg.hessian(..., flat=True)``), of length ``n``; ``split`` cuts one back into arrays of the
parameters' shapes. Everything is computed in float64.
"""

from .diagonals import fisher_diagonal, ggn_diagonal, hessian_diagonal
from .directions import TrajectoryDirections, trajectory_directions
from .gauss_newton import (
    GaussNewtonOperator,
    empirical_fisher,
    gauss_newton_matrix,
    ggn_vector_product,
)
from .jacobians import per_sample_gradients
from .lanczos import LanczosPairs, lanczos_eigenpairs, lanczos_quadrature
from .landscape import Landscape, loss_landscape
from .learning_rates import LRSuggestion, suggest_lr
from .loss_operator import CurvatureError, LossOperator, loss_operator
from .power_iteration import ConvergenceWarning, EigenResult, top_hessian_eigenvalues
from .spectrum import (
    SpectralDensity,
    exact_hessian_spectrum,
    hessian_eigenvalues,
    hessian_spectral_density,
)
from .spectrum_plot import plot_spectral_density
from .trace import TraceEstimate, hessian_trace

__all__ = [
    "ConvergenceWarning",
    "CurvatureError",
    "EigenResult",
    "GaussNewtonOperator",
    "LRSuggestion",
    "LanczosPairs",
    "Landscape",
    "LossOperator",
    "SpectralDensity",
    "TraceEstimate",
    "TrajectoryDirections",
    "empirical_fisher",
    "exact_hessian_spectrum",
    "fisher_diagonal",
    "gauss_newton_matrix",
    "ggn_diagonal",
    "ggn_vector_product",
    "hessian_diagonal",
    "hessian_eigenvalues",
    "hessian_spectral_density",
    "hessian_trace",
    "lanczos_eigenpairs",
    "lanczos_quadrature",
    "loss_landscape",
    "loss_operator",
    "per_sample_gradients",
    "plot_spectral_density",
    "suggest_lr",
    "top_hessian_eigenvalues",
    "trajectory_directions",
]
