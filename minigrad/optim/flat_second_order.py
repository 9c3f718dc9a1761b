"""``FlatSecondOrder``: what the second-order optimizers ``Newton`` and ``NewtonCG`` share."""

from __future__ import annotations

from .checks import Limits, check_closure
from .line_search import FlatParams
from .optimizer import Optimizer, check


class FlatSecondOrder(Optimizer):
    """What ``Newton`` and ``NewtonCG`` share: one parameter group, seen as one flat vector,
    with the global state kept on the first parameter (as PyTorch's LBFGS)."""

    limits = {
        **Optimizer.limits,
        "damping": Limits("damping value"),
        "tolerance_grad": Limits(),
    }
    global_state = True

    def add_param_group(self, group: dict) -> None:
        check(
            not self.param_groups,
            f"{type(self).__name__} doesn't support per-parameter options (parameter groups)",
        )
        super().add_param_group(group)

    def flat(self) -> FlatParams:
        """The parameters as one flat vector (see ``FlatParams``)."""
        return FlatParams(self.param_groups[0]["params"], owner=f"{type(self).__name__}.step")

    def setup(self, closure, counters):
        """The group, the flat parameters and the global state (its ``counters`` made on the
        first step), after checking that a closure was given."""
        check(
            closure is not None,
            f"{type(self).__name__}.step needs a closure that zeroes the grads, computes the "
            f"loss, calls backward() and returns the loss",
        )
        check_closure(f"{type(self).__name__}.step", closure)
        group = self.param_groups[0]
        flat = self.flat()
        state = self.state.setdefault(group["params"][0], {})
        for key, value in counters.items():
            state.setdefault(key, value)
        return group, flat, state
