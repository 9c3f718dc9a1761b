"""nn.ModuleDict, nn.ParameterList and nn.ParameterDict: what they hold is found by
``named_parameters``, ``state_dict`` and the optimizers, under PyTorch's names and in PyTorch's
order (written in from PyTorch 2.x: ``blocks.b.weight``, ``params.0``, ``extra.z``)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DTypeError
from minigrad.nn.containers import ContainerKeyError


def vector(*values):
    return mg.tensor(np.array(values, dtype=np.float64))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        generator = mg.Generator(0)
        self.blocks = nn.ModuleDict({"b": nn.Linear(2, 1, generator=generator),
                                     "a": nn.Linear(2, 3, generator=generator)})  # fmt: skip
        self.params = nn.ParameterList([nn.Parameter(vector(0.0, 0.0)), vector(1.0, 1.0, 1.0)])
        self.extra = nn.ParameterDict(OrderedDict(z=nn.Parameter(vector(0.0)), a=vector(1.0)))


# PyTorch 2.x, the same module: list(m.state_dict()) and [n for n, _ in m.named_parameters()]
PYTORCH_NAMES = ["blocks.b.weight", "blocks.b.bias", "blocks.a.weight", "blocks.a.bias",
                 "params.0", "params.1", "extra.z", "extra.a"]  # fmt: skip


def test_names_and_order_are_pytorchs():
    model = Model()
    assert [name for name, _ in model.named_parameters()] == PYTORCH_NAMES
    assert list(model.state_dict()) == PYTORCH_NAMES


def test_an_optimizer_trains_what_the_containers_hold():
    model = Model()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    assert len(optimizer.param_groups[0]["params"]) == len(PYTORCH_NAMES)
    x = mg.ones(4, 2)  # the default dtype, as the layers
    loss = model.blocks["a"](x).sum() + model.blocks.b(x).sum()
    loss = loss + (model.params[0] ** 2).sum() + model.params[1].sum() + model.extra["a"].sum()
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    changed = [k for k in PYTORCH_NAMES if not np.array_equal(before[k], after[k].numpy())]
    assert changed == [k for k in PYTORCH_NAMES if k not in ("params.0", "extra.z")]


def test_state_dicts_round_trip_between_two_models():
    source, target = Model(), Model()
    for p in source.parameters():
        p.data[...] = 7.0
    target.load_state_dict(source.state_dict())
    assert all(np.all(p.numpy() == 7.0) for p in target.parameters())


def test_plain_tensors_become_parameters():
    model = Model()
    assert isinstance(model.params[1], nn.Parameter) and model.params[1].requires_grad
    assert isinstance(model.extra["a"], nn.Parameter)
    model.params.append(vector(2.0))
    model.extra["new"] = vector(3.0)
    assert list(model.state_dict())[-1] == "extra.new" and "params.2" in model.state_dict()


# ----- ModuleDict --------------------------------------------------------------------------------


def test_module_dict_is_a_dict_of_modules_in_insertion_order():
    md = nn.ModuleDict([("x", nn.ReLU()), ("y", nn.Tanh())])
    md["z"] = nn.ReLU()
    assert list(md) == ["x", "y", "z"] and "x" in md and len(md) == 3
    assert isinstance(md.y, nn.Tanh) and md["y"] is md.y
    md.pop("x")
    assert list(md.keys()) == ["y", "z"]
    md.update({"b": nn.ReLU(), "a": nn.ReLU()})  # a plain dict keeps its order (PyTorch 2.x)
    assert list(md) == ["y", "z", "b", "a"]
    md.w = nn.Tanh()  # as PyTorch's, a module attribute is an entry
    assert list(md)[-1] == "w" and isinstance(md["w"], nn.Tanh)
    del md["w"]
    assert [k for k, _ in md.items()] == ["y", "z", "b", "a"] and len(list(md.values())) == 4
    md.clear()
    assert len(md) == 0


def test_module_dict_forward_by_name():
    generator = mg.Generator(0)
    heads = nn.ModuleDict({"mean": nn.Linear(3, 1, generator=generator),
                           "logits": nn.Linear(3, 4, generator=generator)})  # fmt: skip
    x = mg.ones(2, 3)
    assert {name: head(x).shape for name, head in heads.items()} == {
        "mean": (2, 1),
        "logits": (2, 4),
    }


@pytest.mark.parametrize(
    "entries, error, match",
    [
        ({"a.b": nn.ReLU()}, ContainerKeyError, "without '.'"),
        ({"": nn.ReLU()}, ContainerKeyError, "non-empty"),
        ({1: nn.ReLU()}, DTypeError, "keys are names"),
        ({"a": 3}, DTypeError, "int is not a Module"),
        ([("a", nn.ReLU(), 1)], ValueError, "should be a \\(key, value\\) pair"),
    ],
)
def test_module_dict_refuses(entries, error, match):
    with pytest.raises(error, match=match):
        nn.ModuleDict(entries)


def test_a_bad_key_is_a_key_error_as_in_pytorch():
    with pytest.raises(KeyError):
        nn.ModuleDict({"a.b": nn.ReLU()})


# ----- ParameterList -----------------------------------------------------------------------------


def test_parameter_list_is_a_list():
    params = nn.ParameterList([vector(0.0)] * 3)
    assert len(params) == 3 and isinstance(params[1:], nn.ParameterList) and len(params[1:]) == 2
    assert params[-1] is params[2]
    params[0] = vector(5.0)
    assert isinstance(params[0], nn.Parameter) and params[0].item() == 5.0
    params += [vector(1.0)]
    params.extend([vector(2.0)])
    assert len(params) == 5 and [n for n, _ in params.named_parameters()] == list("01234")
    with pytest.raises(IndexError, match="out of range"):
        params[5]
    with pytest.raises(DTypeError, match="iterable"):
        params.extend(3)


def test_parameter_list_repr_names_dtype_and_size():
    text = repr(nn.ParameterList([mg.zeros(2, 3, dtype=np.float64)]))
    assert text == "ParameterList(\n  (0): Parameter containing: [float64 of size 2x3]\n)"


# ----- ParameterDict -----------------------------------------------------------------------------


def test_parameter_dict_sorts_a_plain_dict_as_pytorch():
    pd = nn.ParameterDict({"b": vector(0.0)})
    pd.update({"z": vector(0.0), "a": vector(0.0)})  # a plain dict: added in sorted key order
    assert list(pd) == ["b", "a", "z"]
    pd.update([("q", vector(0.0)), ("c", vector(0.0))])  # pairs keep their order
    assert list(pd) == ["b", "a", "z", "q", "c"]
    assert list(nn.ParameterDict(OrderedDict(z=vector(0.0), a=vector(0.0)))) == ["z", "a"]


def test_parameter_dict_methods():
    pd = nn.ParameterDict({"w": vector(1.0)})
    assert pd.get("w") is pd["w"] is pd.w and pd.get("missing") is None
    assert pd.setdefault("b", vector(2.0)).item() == 2.0 and pd.setdefault("b").item() == 2.0
    copied = pd.copy()
    assert list(copied) == ["w", "b"] and copied["w"] is pd["w"]
    assert pd.popitem()[0] == "b" and list(pd) == ["w"]
    assert list(pd.fromkeys(["x", "y"], vector(0.0))) == ["x", "y"]
    assert pd.pop("w").item() == 1.0 and len(pd) == 0
    with pytest.raises(ContainerKeyError):
        pd["a.b"] = vector(0.0)
