"""``functional_call``: a model as a function of its parameters (``torch.func.functional_call``)."""

from __future__ import annotations

from .module import Module, StateDictError


def functional_call(module: Module, tensors, *args, **kwargs):
    """Run ``module(*args, **kwargs)`` with its parameters (and buffers) replaced by
    ``tensors``, then put them back. ``tensors``: a dict by dotted name (parameters and
    buffers; the ones left out keep their values), or a sequence in ``named_parameters()``
    order.

    It turns a model into a function of its parameters, which is what ``mg.grad``, ``mg.hvp``,
    ``mg.hessian``, ``mg.vmap`` and the curvature tools differentiate. The model's arguments
    come as in a call of the model; ``mg.func.functional_call`` takes
    ``torch.func.functional_call``'s form (a tuple of arguments, a tuple of dicts).
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
    current = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    unknown = set(tensors) - set(current)
    if unknown:
        raise StateDictError(f"functional_call: {type(module).__name__} has no parameters or "
                             f"buffers {sorted(unknown)}")  # fmt: skip
    # Every place that holds each tensor: a tied parameter (``b.weight = a.weight``) is
    # swapped wherever it is used, as torch.func.functional_call's tie_weights=True does.
    holders: dict[int, list] = {}  # id(tensor) -> [(module, its name there)]
    for _, owner in module.named_modules(remove_duplicate=False):
        own = [
            *owner.named_parameters(remove_duplicate=False, recurse=False),
            *owner.named_buffers(remove_duplicate=False, recurse=False),
        ]
        for name, value in own:
            places = holders.setdefault(id(value), [])
            if not any(o is owner and n == name for o, n in places):
                places.append((owner, name))
    owners = {name: holders[id(current[name])] for name in tensors}
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
