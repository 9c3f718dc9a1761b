"""``functional_call``: a model as a function of its parameters (``torch.func.functional_call``)."""

from __future__ import annotations

from .module import Module, StateDictError


def functional_call(module: Module, tensors, *args, **kwargs):
    """Run ``module(*args, **kwargs)`` with its parameters replaced by ``tensors`` (a dict by
    dotted name, or a sequence in ``named_parameters()`` order), then put them back.

    As ``torch.func.functional_call``: it turns a model into a function of its parameters, which
    is what ``mg.grad``, ``mg.hvp``, ``mg.hessian`` and the curvature tools differentiate.
    """
    names = [name for name, _ in module.named_parameters()]
    if not isinstance(tensors, dict):
        tensors = list(tensors)
        if len(tensors) != len(names):
            raise StateDictError(
                f"functional_call: {len(tensors)} tensors for the {len(names)} parameters of "
                f"{type(module).__name__}"
            )
        tensors = dict(zip(names, tensors))
    unknown = set(tensors) - set(names)
    if unknown:
        raise StateDictError(f"functional_call: {type(module).__name__} has no parameters "
                             f"{sorted(unknown)}")  # fmt: skip
    owners = {}  # dotted name -> (the module whose own parameter it is, its name there)
    for path, owner in module.named_modules():
        for name, _ in owner.named_parameters(recurse=False):
            owners[f"{path}.{name}" if path else name] = (owner, name)
    swapped = []
    try:
        for name, value in tensors.items():
            swapped.append((name, _swap(*owners[name], value)))
        return module(*args, **kwargs)
    finally:
        for name, original in reversed(swapped):
            _swap(*owners[name], original)


def _swap(owner: Module, name: str, value):
    """Put ``value`` where ``owner``'s own parameter ``name`` is (an attribute, or an item of a
    list, tuple or dict attribute: ``shift.0``); return what was there."""
    attribute, *keys = name.split(".")
    if not keys:
        original = vars(owner)[attribute]
        # NOTE: past Module.__setattr__, which refuses a Tensor in a Parameter's place.
        object.__setattr__(owner, attribute, value)
        return original
    container = vars(owner)[attribute]
    for key in keys[:-1]:
        container = container[int(key) if isinstance(container, list | tuple) else key]
    last = int(keys[-1]) if isinstance(container, list | tuple) else keys[-1]
    original = container[last]
    container[last] = value
    return original
