"""``torch.func``'s names and signatures over minigrad's transforms: a script written for
``torch.func`` runs on ``import minigrad.func as func`` (or ``from minigrad.func import ...``).

Where the two differ, this module takes PyTorch's form: ``vmap``'s ``in_dims``/``out_dims``
(``mg.vmap``'s ``in_axes``/``out_axes``), ``grad_and_value`` returning ``(gradient, value)``
(``mg.value_and_grad`` returns ``(value, gradient)``, JAX's order), and ``functional_call``
taking the model's arguments as one tuple and the tensors as a dict or a tuple of dicts
(parameters, buffers). The transforms themselves are minigrad's, with the same semantics as
``torch.func``'s: gradients of dicts of parameters are dicts, ``has_aux`` returns an auxiliary
value beside the derivative, and everything composes (``vmap(grad(f))``, ``jacrev(jacfwd(f))``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import hessians, transforms, vectorize
from .errors import ArgumentError
from .functions import stack
from .nn import stateless
from .nn.module import Module
from .tensor import Tensor

__all__ = [
    "functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
    "stack_module_state", "vjp", "vmap",
]  # fmt: skip


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:  # fmt: skip
    """``torch.func.vmap``: ``mg.vmap`` with ``in_dims``/``out_dims`` for JAX's
    ``in_axes``/``out_axes``."""
    return vectorize.vmap(func, in_dims, out_dims, randomness=randomness, chunk_size=chunk_size)


def grad(func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``torch.func.grad``: the gradient of the scalar ``func`` (see ``mg.grad``)."""
    return transforms.grad(func, argnums, has_aux=has_aux)


def grad_and_value(func: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable:  # fmt: skip
    """``torch.func.grad_and_value``: ``(gradient, value)``, or ``(gradient, (value, aux))``
    with ``has_aux`` (``mg.value_and_grad`` in PyTorch's order)."""
    value_and_grad = transforms.value_and_grad(func, argnums, has_aux=has_aux)

    def grad_and_value_f(*args, **kwargs):
        value, gradient = value_and_grad(*args, **kwargs)
        return gradient, value

    return grad_and_value_f


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``torch.func.vjp``: ``(output, vjp_fn)``, ``vjp_fn(u)`` a tuple with one cotangent per
    primal (see ``mg.vjp``)."""
    return transforms.vjp(func, *primals, has_aux=has_aux)


def jvp(func: Callable, primals: Sequence, tangents: Sequence, *, strict: bool = False,
        has_aux: bool = False):  # fmt: skip
    """``torch.func.jvp``: ``(output, J @ tangents)`` (see ``mg.jvp``). ``strict`` is accepted
    for PyTorch's signature; minigrad always checks that the tangents match the primals."""
    return transforms.jvp(func, primals, tangents, has_aux=has_aux)


def jacrev(func: Callable, argnums: int | Sequence[int] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:  # fmt: skip
    """``torch.func.jacrev``: the Jacobian by reverse mode (see ``mg.jacrev``). ``chunk_size``
    is accepted for PyTorch's signature: minigrad's ``jacrev`` keeps one row in flight."""
    return transforms.jacrev(func, argnums, has_aux=has_aux)


def jacfwd(func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:  # fmt: skip
    """``torch.func.jacfwd``: the Jacobian by forward mode (see ``mg.jacfwd``); one forward
    pass draws one set of random values for every direction, as ``randomness="same"``."""
    if randomness == "different":
        raise ArgumentError(
            "jacfwd: randomness='different' is not supported: minigrad pushes every direction "
            "through one forward pass, which draws each random value once ('same')"
        )
    return transforms.jacfwd(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``torch.func.hessian``: the Hessian by forward-over-reverse (see ``mg.hessian``)."""
    return hessians.hessian(func, argnums)


def functional_call(module: Module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):  # fmt: skip
    """``torch.func.functional_call``: ``module(*args, **kwargs)`` with its parameters and
    buffers replaced by the tensors of ``parameter_and_buffer_dicts`` (a dict by dotted name,
    or a tuple of dicts, such as ``(params, buffers)``), then put back. ``args``: a tuple of
    positional arguments, or one argument. ``strict=True`` requires a tensor for every
    parameter and buffer. A tied parameter is replaced wherever it is used
    (``tie_weights=True``, the only behaviour minigrad has)."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = (dicts,)
    tensors: dict = {}
    for d in dicts:
        if not isinstance(d, dict):
            raise ArgumentError(
                f"functional_call: expected a dict of tensors by name or a tuple of them, got "
                f"a {type(d).__name__} inside"
            )
        repeated = set(tensors) & set(d)
        if repeated:
            raise ArgumentError(f"functional_call: {sorted(repeated)} given in two dicts")
        tensors.update(d)
    if not tie_weights:
        raise ArgumentError(
            "functional_call: tie_weights=False is not supported; minigrad replaces a tied "
            "parameter wherever it is used (tie_weights=True)"
        )
    if strict:
        expected = {name for name, _ in module.named_parameters()}
        expected |= {name for name, _ in module.named_buffers()}
        missing = sorted(expected - set(tensors))
        if missing:
            raise ArgumentError(f"functional_call: strict=True and no tensors for {missing}")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    return stateless.functional_call(module, tensors, *args, **(kwargs or {}))


def stack_module_state(models: Sequence[Module]) -> tuple[dict, dict]:
    """``torch.func.stack_module_state``: ``(params, buffers)``, each a dict by name of the
    models' tensors stacked along a new first axis, for ``vmap`` over an ensemble of models of
    one architecture (``vmap(lambda p, b, x: functional_call(model, (p, b), (x,)))``)."""
    models = list(models)
    if not models:
        raise ArgumentError("stack_module_state: expected at least one model")
    kinds = {type(m) for m in models}
    if len(kinds) > 1:
        raise ArgumentError(
            f"stack_module_state: the models must be of one kind, got "
            f"{sorted(k.__name__ for k in kinds)}"
        )

    def stacked(named) -> dict:
        per_model = [dict(named(m)) for m in models]
        names = list(per_model[0])
        for m, tensors in enumerate(per_model[1:], start=1):
            if list(tensors) != names:
                raise ArgumentError(
                    f"stack_module_state: model {m} has tensors {list(tensors)}, model 0 has "
                    f"{names}; the models must have the same architecture"
                )
        out = {}
        for name in names:
            values = [Tensor(tensors[name].data) for tensors in per_model]
            out[name] = stack(values)
            out[name].requires_grad_(per_model[0][name].requires_grad)
        return out

    return stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers())
