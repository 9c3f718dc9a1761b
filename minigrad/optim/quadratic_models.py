"""The quadratic model ``m(s) = f + g . s + 1/2 s^T H s`` that ``Newton`` minimises, held two ways:
the Hessian itself (``DenseModel``, rebuilt every step) or its eigendecomposition
(``EigenModel``, kept for several steps with ``hessian_every > 1``).

Both answer what Newton's Levenberg-Marquardt loop asks: the damped step ``lr (H + lam I)^{-1}
(-g)`` if ``H + lam I`` is positive definite (else None), the undamped-or-fixed-damping solve,
the curvature ``s^T H s`` along a step, and the scale ``max(1, max |H_ii|)`` of the damping's
bounds. ``DenseModel`` factors ``H + lam I`` afresh for each ``lam`` (``O(n^3)``); with
``H = Q diag(lam_i) Q^T`` every ``lam`` costs two products with ``Q`` (``O(n^2)``), which is what
makes reusing one Hessian for several steps cheap.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np


class DenseModel:
    """The quadratic model from the symmetric Hessian ``H`` (``(n, n)``, float64)."""

    def __init__(self, H: np.ndarray):
        self.H = H

    def scale(self) -> float:
        return max(1.0, float(np.abs(np.diag(self.H)).max()))

    def solve(self, g: np.ndarray, lam: float) -> np.ndarray:
        """``(H + lam I)^{-1} (-g)`` (``np.linalg.solve``; least squares when it is singular)."""
        with damped(self.H, lam):
            try:
                return np.linalg.solve(self.H, -g)
            except np.linalg.LinAlgError:
                return np.linalg.lstsq(self.H, -g, rcond=None)[0]

    def descent_step(self, g: np.ndarray, lr: float, lam: float) -> np.ndarray | None:
        """``lr (H + lam I)^{-1} (-g)`` if ``H + lam I`` is positive definite, else None."""
        with damped(self.H, lam):
            try:
                np.linalg.cholesky(self.H)  # positive definite: the step is a descent direction
            except np.linalg.LinAlgError:
                return None
            return lr * np.linalg.solve(self.H, -g)

    def curvature(self, s: np.ndarray) -> float:
        return s @ self.H @ s


class EigenModel:
    """The quadratic model from ``H = Q diag(eigenvalues) Q^T`` (``eigenvectors`` ``Q``, the
    columns; as ``np.linalg.eigh`` returns them)."""

    def __init__(self, eigenvalues: np.ndarray, eigenvectors: np.ndarray):
        self.eigenvalues, self.Q = eigenvalues, eigenvectors

    def scale(self) -> float:
        diagonal = (self.Q * self.Q) @ self.eigenvalues  # H_ii = sum_j Q_ij^2 lam_j
        return max(1.0, float(np.abs(diagonal).max()))

    def solve(self, g: np.ndarray, lam: float) -> np.ndarray:
        """``(H + lam I)^{-1} (-g)``; where ``lam_i + lam = 0``, that component is left out
        (the least-squares solution of smallest norm, as ``lstsq`` gives)."""
        shifted = self.eigenvalues + lam
        c = self.Q.T @ -g
        safe = np.where(shifted != 0, shifted, 1.0)
        return self.Q @ np.where(shifted != 0, c / safe, 0.0)

    def descent_step(self, g: np.ndarray, lr: float, lam: float) -> np.ndarray | None:
        if (self.eigenvalues + lam).min() <= 0:  # not positive definite
            return None
        return lr * self.solve(g, lam)

    def curvature(self, s: np.ndarray) -> float:
        y = self.Q.T @ s
        return float(self.eigenvalues @ (y * y))


@contextmanager
def damped(H: np.ndarray, lam: float):
    """``H`` as ``H + lam I`` inside the block, its diagonal put back exactly afterwards: in place,
    because a damped copy would be one more ``n x n`` array than ``max_memory`` allows."""
    diagonal = H.diagonal().copy()
    np.fill_diagonal(H, diagonal + lam)
    try:
        yield H
    finally:
        np.fill_diagonal(H, diagonal)
