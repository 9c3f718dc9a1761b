"""``check_direction``: a model's whole gradient checked along one random direction, and when
it is wrong, the parameters and the operations whose rules are wrong.

Sampling a few coordinates per parameter misses a rule that is wrong at a few elements (a
planted error at one element of a 5-element parameter, 4 coordinates sampled: caught at the
third check, 40 steps in). The derivative along a random direction ``u`` over every element,
``g . u`` against a central difference of the loss along ``u`` (Richardson-extrapolated, the
tolerance from the differences' own error: ``reverse.probe``, as fast gradcheck), sees every
element at once: a wrong element shifts ``g . u`` by its error times its ``u`` component, which
is almost never small. Five loss evaluations, however large the model.

When it fails, two more steps say where: the same check restricted to each parameter names
the parameters whose gradients are wrong, and each node of the recorded graph is checked on
its own (its primitive's VJP against finite differences of its forward, at the inputs it had:
``reverse.probe`` again, a few evaluations of one operation) to name the operation whose rule
is wrong, with the module whose forward made it (``node.scope``).
"""

from __future__ import annotations

import copy

from .. import autograd
from ..autodiff import enable_grad, no_grad
from ..autograd_function import FunctionNode
from ..primitive import apply
from ..random import default_generator
from ..tensor import Tensor
from .inputs import projected
from .report import GradcheckReport, WrongRule
from .reverse import probe, reverse_gradients
from .twin import Model, Twin


def check_direction(
    module: Model, loss_fn, *batch, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
    max_failures: int = 5, localise: bool = True,
) -> GradcheckReport:  # fmt: skip
    """Check the gradient of the loss with respect to all the parameters along one seeded
    random direction, in float64 (``check_module(..., mode="directional")``).

    The report's first check, ``direction``, compares ``g . u`` with the finite difference. If it
    fails (and ``localise``), the report also holds one check per parameter (along ``u``'s part
    in that parameter; the failing ones name the parameters) and ``wrong_rules``: each operation
    whose VJP disagrees with its forward, by primitive name and module path. The model, its
    gradients and the random generator are left as they were.
    """
    with Twin(module, loss_fn, batch) as twin:
        loss, gradients = twin.gradients()
        arrays = [p.data for p in twin.params]
        wrt = list(range(len(arrays)))

        def value(moved):
            for p, a in zip(twin.params, moved):
                p.data = a
            try:
                return twin.value()
            finally:
                for p, a in zip(twin.params, arrays):
                    p.data = a

        n = sum(a.size for a in arrays)
        check = probe(value, arrays, wrt, gradients, abs(loss), None, atol, rtol, seed,
                      max_failures, n_directions=1)  # fmt: skip
        checks, rules = [_along(check, "direction", (n,))], []
        notes = [f"one random direction over all {n} elements of the parameters (float64)"]
        if not check.passed and localise:
            for i, name in enumerate(twin.names):
                one = probe(value, arrays, [i], [gradients[i]], abs(loss), None, atol, rtol,
                            seed + 1 + i, max_failures, n_directions=1)  # fmt: skip
                checks.append(_along(one, f'"{name}"', tuple(arrays[i].shape)))
            notes.append("localised: each parameter along a direction, each operation alone")
            with enable_grad():
                rules = wrong_rules(twin.loss(), twin.module_names(), atol, rtol, seed)
    return GradcheckReport(checks, atol, rtol, notes, title="check_module (directional)",
                           wrong_rules=rules)  # fmt: skip


def _along(check, name: str, shape: tuple):
    """A directional ``check`` named for what it covers; its one value has no index."""
    check.name, check.shape, check.worst_index = name, shape, ()
    for failure in check.failures:
        failure.index = ()
    return check


def wrong_rules(loss: Tensor, module_names: dict, atol: float, rtol: float,
                seed: int) -> list[WrongRule]:  # fmt: skip
    """The operations in the recorded graph of ``loss`` whose VJP disagrees with finite
    differences of their forward at their recorded inputs, grouped by (operation, module),
    in the order they ran."""
    found: dict[tuple, WrongRule] = {}
    for t in autograd.toposort(loss):
        node = t._node
        if node is None:
            continue
        op, check = _check_node(node, atol, rtol, seed)
        if check is None or check.passed:
            continue
        scope = None if node.scope is None else module_names.get(id(node.scope))
        key = (op, scope)
        if key in found:
            found[key].nodes += 1
        else:
            found[key] = WrongRule(op, scope, 1, check)
    return list(found.values())


def _check_node(node, atol, rtol, seed):
    """(the operation's name, its fast check along one random direction), or (name, None)
    when it cannot be re-run (an ``autograd.Function`` with arguments that are not Tensors)."""
    prim, parents, params = node.prim, node.parents, node.params
    wrt = [i for i, p in enumerate(parents) if p.requires_grad and p.dtype.kind == "f"]
    constants = [Tensor(p.data) for p in parents]
    if issubclass(prim, FunctionNode):
        function = params["function"]
        name = f"{function.__name__} (autograd.Function)"
        if len(params["positions"]) != params["nargs"]:
            return name, None

        def run(*xs):
            return function.apply(*xs)
    else:
        name = prim.__name__

        def run(*xs):
            return apply(prim, *xs, **params)

    def operation(*xs):
        args = list(constants)
        for i, x in zip(wrt, xs):
            args[i] = x
        return run(*args)

    if not wrt:
        return name, None
    arrays = [parents[i].data for i in wrt]
    here = list(range(len(arrays)))
    rng_state = copy.deepcopy(default_generator.rng.bit_generator.state)
    scalar = projected(operation, seed)
    gradients, out = reverse_gradients(scalar, arrays, here)

    def value(moved):
        default_generator.rng.bit_generator.state = copy.deepcopy(rng_state)
        with no_grad():
            return scalar(*[Tensor(a) for a in moved]).item()

    check = probe(value, arrays, here, gradients, abs(out.item()), None, atol, rtol, seed, 1,
                  n_directions=1)  # fmt: skip
    default_generator.rng.bit_generator.state = rng_state
    return name, _along(check, name, ())
