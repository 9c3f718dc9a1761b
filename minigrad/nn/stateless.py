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
    # Every place that holds each parameter: a tied parameter (``b.weight = a.weight``) is
    # swapped wherever it is used, as torch.func.functional_call's tie_weights=True does.
    holders: dict[int, list] = {}  # id(parameter) -> [(module, its name there)]
    for _, owner in module.named_modules(remove_duplicate=False):
        for name, value in owner.named_parameters(remove_duplicate=False, recurse=False):
            places = holders.setdefault(id(value), [])
            if not any(o is owner and n == name for o, n in places):
                places.append((owner, name))
    current = dict(module.named_parameters())
    owners = {name: holders[id(current[name])] for name in names}
    swapped = []
    try:
        for name, value in tensors.items():
            for owner, there in owners[name]:
                swapped.append((owner, there, _swap(owner, there, value)))
        return module(*args, **kwargs)
    finally:
        for owner, there, original in reversed(swapped):
            _swap(owner, there, original)


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
