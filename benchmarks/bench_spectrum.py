"""Top-k Hessian eigenvalues: Lanczos (full reorthogonalisation) against power iteration with
deflation, on a float64 tanh MLP (10-30-30-2, 1,322 parameters, 64 samples) whose Hessian has
large eigenvalues of both signs.

For k = 1, 5, 10 and which = "LM": Hessian-vector products spent, process CPU time (median of
interleaved repeats), and the largest error against ``eigvalsh`` of the exact Hessian
(``mg.hessian(..., flat=True)``). Both methods stop on the same criterion: each pair's
residual ``||H u - lam u|| <= tol * |lam|``.

    python benchmarks/bench_spectrum.py [--repeats N] [--tol T]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import warnings

import numpy as np
from timing import interleaved, warn

from minigrad.curvature import ConvergenceWarning, hessian_eigenvalues

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from spectrum_problems import tanh_mlp  # noqa: E402  (the tests' problem, one definition)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-8)
    args = parser.parse_args()
    warn()
    loss, params, _, eigenvalues = tanh_mlp()
    reference = eigenvalues[np.argsort(-np.abs(eigenvalues), kind="stable")]
    settings = {"lanczos": {"max_iter": 1322}, "power": {"max_iter": 5000}}

    print(f"n = {len(eigenvalues)}, tol = {args.tol:g}, which = 'LM', "
          f"median of {args.repeats} interleaved repeats")  # fmt: skip
    print(f"{'k':>3} {'method':>8} {'HVPs':>7} {'time (s)':>9} {'max error':>10} "
          f"{'converged':>9}  time / Lanczos's")  # fmt: skip
    for k in (1, 5, 10):
        results = {}

        def run(method, k=k, results=results):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                results[method] = hessian_eigenvalues(
                    loss, params, k=k, method=method, tol=args.tol, **settings[method]
                )

        times = interleaved({m: (run, (m,)) for m in settings}, args.repeats)
        for method, result in results.items():
            error = np.max(np.abs(result.eigenvalues - reference[:k]))
            print(f"{k:>3} {method:>8} {result.products:>7} {times.median(method):>9.3f} "
                  f"{error:>10.1e} {all(result.converged)!s:>9}  "
                  f"{times.ratio(method, 'lanczos'):.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
