"""nn.Module, Parameter, Sequential, ModuleList, Linear and Flatten, as PyTorch users expect them.

Values are checked against numpy written here (``x @ W.T + b``, the closed-form gradients of a
linear map) and against finite differences (``mg.gradcheck``), never against minigrad itself.
"""

import copy
import re
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def snapshot(model: nn.Module) -> dict:
    """Copies of every parameter's and buffer's array, by name (independent of state_dict)."""
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    return {name: np.array(t.data, copy=True) for name, t in tensors}


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name].dtype == before[name].dtype, name
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


class Tree(nn.Module):
    """Parameters and sub-modules in every kind of container the walk must see through."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.blocks = [nn.Linear(4, 4), nn.Linear(4, 4, bias=False)]
        self.heads = {"a": nn.Linear(4, 2), "b": nn.Linear(4, 1)}
        self.pair = (nn.Linear(2, 2), nn.Flatten())
        self.note = "not a parameter"
        self.constant = mg.tensor([1.0, 2.0])  # a plain Tensor: neither parameter nor buffer


class Scaled(nn.Module):
    """A child first, then parameters of its own (one in a list) and a buffer."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.scale = nn.Parameter(np.ones(2))
        self.shift = [nn.Parameter(np.zeros(2))]
        self.register_buffer("mask", mg.ones(2))


class MLP(nn.Module):
    """A 2-layer perceptron written the way a user would."""

    def __init__(self, n_in, n_hidden, n_out, dtype=np.float32):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden, dtype=dtype)
        self.fc2 = nn.Linear(n_hidden, n_out, dtype=dtype)

    def forward(self, x):
        return self.fc2(mg.relu(self.fc1(x)))


# ----- walking the tree --------------------------------------------------------------------------


def test_named_parameters_dotted_names_through_containers():
    names = [name for name, _ in Tree().named_parameters()]
    assert names == [
        "stem.weight",
        "stem.bias",
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "heads.a.weight",
        "heads.a.bias",
        "heads.b.weight",
        "heads.b.bias",
        "pair.0.weight",
        "pair.0.bias",
    ]


def test_named_parameters_are_the_attribute_objects():
    tree = Tree()
    named = dict(tree.named_parameters())
    assert named["stem.weight"] is tree.stem.weight
    assert named["blocks.1.weight"] is tree.blocks[1].weight
    assert named["heads.b.bias"] is tree.heads["b"].bias
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in named.values())
    assert [id(p) for p in tree.parameters()] == [id(p) for p in named.values()]


def test_own_parameters_come_before_those_of_submodules():
    """PyTorch's order: a module's own parameters first, then each child's, in attribute order."""
    assert [n for n, _ in Scaled().named_parameters()] == [
        "scale",
        "shift.0",
        "fc.weight",
        "fc.bias",
    ]


def test_shared_parameter_listed_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(3, 3)
            self.decoder = nn.Linear(3, 3)
            self.decoder.weight = self.encoder.weight

    tied = Tied()
    names = [n for n, _ in tied.named_parameters()]
    assert names == ["encoder.weight", "encoder.bias", "decoder.bias"]
    assert tied.num_parameters() == 9 + 3 + 3


def test_shared_module_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, shared, nn.Linear(2, 1))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sum(m is shared for m in model.modules()) == 1


def test_children_are_direct_submodules_in_order():
    tree = Tree()
    expected = [tree.stem, *tree.blocks, tree.heads["a"], tree.heads["b"], *tree.pair]
    assert [id(c) for c in tree.children()] == [id(m) for m in expected]
    assert [n for n, _ in tree.named_children()] == [
        "stem",
        "blocks.0",
        "blocks.1",
        "heads.a",
        "heads.b",
        "pair.0",
        "pair.1",
    ]


def test_modules_and_named_modules_depth_first():
    inner = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2))
    model = nn.Sequential(nn.Linear(2, 2), inner)
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert [id(m) for m in model.modules()] == [
        id(model), id(model[0]), id(inner), id(inner[0]), id(inner[1])
    ]  # fmt: skip
    assert dict(model.named_modules())["1.1"] is inner[1]


def test_parameters_inside_nested_submodule_in_dict():
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.towers = {"left": nn.Sequential(nn.Linear(2, 2))}

    assert [n for n, _ in Outer().named_parameters()] == [
        "towers.left.0.weight",
        "towers.left.0.bias",
    ]


# ----- Sequential and ModuleList -----------------------------------------------------------------


def test_sequential_keys_like_pytorch():
    model = nn.Sequential(nn.Linear(4, 3), nn.Identity(), nn.Linear(3, 2))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_indexing_slicing_len_iter():
    layers = [nn.Linear(4, 3), nn.Flatten(), nn.Linear(3, 2)]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert model[0] is layers[0] and model[-1] is layers[2]
    assert [id(m) for m in model] == [id(m) for m in layers]
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and len(tail) == 2
    assert tail[1] is layers[2]
    # as PyTorch's: a slice keeps the layers' names
    assert [n for n, _ in tail.named_parameters()] == ["2.weight", "2.bias"]


def test_sequential_forward_is_composition(rng):
    a, b = nn.Linear(4, 3, dtype=np.float64), nn.Linear(3, 2, dtype=np.float64)
    x = rng.standard_normal((5, 4))
    expected = (x @ a.weight.data.T + a.bias.data) @ b.weight.data.T + b.bias.data
    np.testing.assert_allclose(nn.Sequential(a, b)(mg.tensor(x)).data, expected, rtol=1e-12)


def test_sequential_append():
    model = nn.Sequential(nn.Linear(2, 2))
    assert model.append(nn.Linear(2, 1)) is model
    assert len(model) == 2 and [n for n, _ in model.named_parameters()][-1] == "1.bias"


def test_module_list_registers_its_modules():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.blocks.append(nn.Linear(2, 1))
            self.blocks.extend([nn.Linear(1, 1)])

    stack = Stack()
    assert len(stack.blocks) == 4
    assert [n for n, _ in stack.named_parameters()] == [
        f"blocks.{i}.{p}" for i in range(4) for p in ("weight", "bias")
    ]
    assert stack.blocks[-1] is list(stack.blocks)[3]
    assert isinstance(stack.blocks[:2], nn.ModuleList) and len(stack.blocks[:2]) == 2


# ----- modes, gradients, counting ----------------------------------------------------------------


def test_sequential_of_an_ordered_dict_is_named_by_its_keys(rng):
    fc, act = nn.Linear(2, 3), nn.ReLU()
    model = nn.Sequential(OrderedDict([("fc", fc), ("act", act)]))
    assert model.fc is fc and model.act is act and model[0] is fc and len(model) == 2
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]
    x = rng.standard_normal((4, 2))
    expected = np.maximum(x @ fc.weight.data.T + fc.bias.data, 0)
    np.testing.assert_allclose(model(mg.tensor(x)).data, expected, rtol=1e-6)
    assert list(model[1:].named_children()) == [("act", act)]
    with pytest.raises(AttributeError, match="no attribute or layer 'conv'"):
        getattr(model, "conv")  # noqa: B009 (the attribute access under test)


def test_sequential_refuses_what_is_not_a_module():
    with pytest.raises(mg.DTypeError, match="Sequential: function is not a Module"):
        nn.Sequential(nn.Linear(2, 2), mg.relu)


def test_parameters_and_modules_with_underscore_names_are_registered():
    """As PyTorch: any attribute name counts for a Parameter or a Module."""

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self._scale = nn.Parameter(np.ones(1))
            self._body = nn.Linear(2, 2)

        def forward(self, x):
            return self._body(x) * self._scale

    model = Scaled()
    assert [n for n, _ in model.named_parameters()] == ["_scale", "_body.weight", "_body.bias"]
    assert set(model.state_dict()) == {"_scale", "_body.weight", "_body.bias"}


def test_assigning_a_tensor_over_a_parameter_is_refused():
    """It would drop out of parameters(), the optimizer and state_dict without a word."""
    layer = nn.Linear(3, 2)
    with pytest.raises(
        mg.DTypeError, match=r"Linear.weight is a Parameter; .* nn.Parameter\(value\)"
    ):
        layer.weight = mg.tensor(np.zeros((2, 3)), requires_grad=True)
    assert isinstance(layer.weight, nn.Parameter)
    new = nn.Parameter(np.zeros((2, 3), np.float32))
    layer.weight = new  # a Parameter replaces a Parameter
    layer.bias = None  # and None removes it
    assert [p for p in layer.parameters()] == [new]


def test_register_buffer_parameter_and_module_check_their_values():
    module = nn.Module()
    with pytest.raises(mg.DTypeError, match=r"register_buffer\('mask'\): a buffer is a Tensor"):
        module.register_buffer("mask", np.ones(3))
    with pytest.raises(mg.DTypeError, match=r"register_parameter\('w'\): expected an nn.Parameter"):
        module.register_parameter("w", mg.tensor([1.0], requires_grad=True))
    with pytest.raises(mg.DTypeError, match=r"add_module\('m'\): int is not a Module"):
        module.add_module("m", 3)
    module.register_buffer("mask", mg.tensor(np.ones(3)))
    module.register_parameter("w", nn.Parameter(np.zeros(2)))
    module.add_module("inner", nn.Linear(2, 1))
    assert [n for n, _ in module.named_parameters()] == ["w", "inner.weight", "inner.bias"]
    assert [n for n, _ in module.named_buffers()] == ["mask"]
    assert [b.shape for b in module.buffers()] == [(3,)]


def test_apply_visits_children_before_parents():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    model.apply(init)
    assert all(not m.weight.data.any() for m in model.modules() if isinstance(m, nn.Linear))


def test_apply_visits_a_shared_module_under_each_parent_like_pytorch():
    """PyTorch's apply recurses into each module's distinct children: a module shared by two
    parents is visited under each, but once under one parent that holds it twice."""
    shared = nn.Linear(2, 2)
    model = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared, shared))
    seen = []
    model.apply(seen.append)
    assert [id(m) for m in seen] == [
        id(shared), id(model[0]), id(shared), id(model[1]), id(model)
    ]  # fmt: skip


def test_walks_without_removing_duplicates_list_every_occurrence_like_pytorch():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, shared)
    assert [n for n, _ in model.named_modules()] == ["", "0"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "0", "1"]
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == [
        "0.weight", "0.bias", "1.weight", "1.bias"
    ]  # fmt: skip
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_named_parameters_and_buffers_without_recursing_are_the_module_s_own():
    model = Scaled()
    assert [n for n, _ in model.named_parameters(recurse=False)] == ["scale", "shift.0"]
    assert [n for n, _ in model.named_buffers(recurse=False)] == ["mask"]
    assert [n for n, _ in model.fc.named_parameters(recurse=False)] == ["weight", "bias"]


def test_requires_grad_freezes_and_unfreezes_every_parameter():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model[1].requires_grad_()
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]


def test_train_and_eval_propagate_to_every_module():
    tree = Tree()
    assert tree.eval() is tree
    assert all(m.training is False for m in tree.modules())
    assert tree.blocks[1].training is False and tree.heads["b"].training is False
    assert tree.train() is tree
    assert all(m.training is True for m in tree.modules())
    tree.train(False)
    assert tree.pair[1].training is False


def test_zero_grad(rng):
    model = MLP(3, 5, 2, dtype=np.float64)
    model(mg.tensor(rng.standard_normal((4, 3)))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad.shape == p.shape
        np.testing.assert_array_equal(p.grad.data, 0.0)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_gradients_accumulate_until_zero_grad(rng):
    model = MLP(3, 5, 2, dtype=np.float64)
    x = mg.tensor(rng.standard_normal((4, 3)))
    model(x).sum().backward()
    first = model.fc1.weight.grad.data.copy()
    model(x).sum().backward()
    np.testing.assert_allclose(model.fc1.weight.grad.data, 2 * first, rtol=1e-12)


def test_num_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2, bias=False))
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2
    assert Tree().num_parameters() == (12 + 4) + (16 + 4) + 16 + (8 + 2) + (4 + 1) + (4 + 2)


# ----- state dicts -------------------------------------------------------------------------------


def test_state_dict_keys_and_values():
    tree = Tree()
    state = tree.state_dict()
    assert list(state) == [n for n, _ in tree.named_parameters()]
    for name, p in tree.named_parameters():
        # as PyTorch's: Tensors cut from the tape, not the Parameters themselves
        assert type(state[name]) is mg.Tensor and state[name] is not p
        assert not state[name].requires_grad and state[name].grad_fn is None
        assert state[name].dtype == p.dtype
        np.testing.assert_array_equal(state[name].numpy(), p.data)


def test_state_dict_shares_memory_with_the_parameters_as_pytorchs():
    """``state_dict()`` values are detached views (PyTorch's): they follow the training, and
    writing into one writes into the model; ``copy.deepcopy`` keeps a snapshot."""
    model = nn.Linear(3, 2)
    state = model.state_dict()
    snapshot = copy.deepcopy(state)
    before = state["weight"].numpy().copy()
    with mg.no_grad():
        model.weight.add_(1.0)
    np.testing.assert_array_equal(state["weight"].numpy(), before + 1.0)
    np.testing.assert_array_equal(snapshot["weight"].numpy(), before)
    state["bias"].copy_(np.full(2, 123.0))  # the old PyTorch way to load a weight
    assert np.all(model.bias.data == 123.0)


def test_load_state_dict_round_trip(rng):
    source, target = MLP(3, 5, 2), MLP(3, 5, 2)
    x = mg.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    assert not np.array_equal(source(x).data, target(x).data)
    weight_object = target.fc1.weight
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target(x).data, source(x).data)
    assert target.fc1.weight is weight_object  # loaded in place: optimizers keep their references
    assert target.fc1.weight.dtype == np.float32


def test_load_state_dict_copies_the_arrays():
    model = nn.Linear(2, 2)
    state = {k: np.zeros_like(v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    state["weight"][:] = 7.0
    np.testing.assert_array_equal(model.weight.data, 0.0)


def test_load_state_dict_accepts_float64_arrays_and_tensors_keeping_dtype():
    model = nn.Linear(2, 2, dtype=np.float32)
    state = {"weight": np.full((2, 2), 0.25), "bias": mg.tensor([1.0, -1.0])}
    model.load_state_dict(state)
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    np.testing.assert_array_equal(model.weight.data, 0.25)
    np.testing.assert_array_equal(model.bias.data, [1.0, -1.0])


def test_missing_keys_are_an_error_listing_them():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    del state["0.bias"], state["1.weight"]
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    assert "0.bias" in str(info.value) and "1.weight" in str(info.value)
    assert "missing" in str(info.value)
    assert_unchanged(model, before)


def test_unexpected_keys_are_an_error_listing_them():
    model = nn.Linear(3, 2)
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["running_mean"] = np.zeros(2, np.float32)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    assert "running_mean" in str(info.value) and "unexpected" in str(info.value)
    assert_unchanged(model, before)


def test_shape_mismatch_is_an_error_naming_key_and_shapes():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["1.weight"] = np.zeros((4, 2), np.float32)  # transposed
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "1.weight" in message and "(4, 2)" in message and "(2, 4)" in message
    assert_unchanged(model, before)


def test_all_problems_reported_at_once():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = model.state_dict()
    del state["0.weight"]
    state["extra"] = np.zeros(1)
    state["1.bias"] = np.zeros(3)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    assert all(word in str(info.value) for word in ("0.weight", "extra", "1.bias"))


def test_strict_false_ignores_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = snapshot(model)
    model.load_state_dict({"1.bias": np.array([5.0, 6.0]), "extra": np.zeros(9)}, strict=False)
    np.testing.assert_array_equal(model[1].bias.data, [5.0, 6.0])
    for name in ("0.weight", "0.bias", "1.weight"):
        np.testing.assert_array_equal(snapshot(model)[name], before[name])


def test_load_state_dict_returns_the_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(2, 2))
    state = {"0.weight": np.ones((2, 2)), "extra": np.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    assert model.load_state_dict(model.state_dict()) == ([], [])


def test_strict_false_still_refuses_wrong_shapes():
    model = nn.Linear(3, 2)
    before = snapshot(model)
    with pytest.raises(nn.StateDictError, match=r"bias: shape \(5,\) in the state dict, \(2,\)"):
        model.load_state_dict({"bias": np.zeros(5), "weight": np.zeros((2, 3))}, strict=False)
    assert_unchanged(model, before)


def test_state_dict_error_is_a_minigrad_error():
    model = nn.Linear(3, 2)
    with pytest.raises(nn.StateDictError, match=r"missing keys \['weight', 'bias'\]") as info:
        model.load_state_dict({})
    assert isinstance(info.value, mg.MinigradError)
    with pytest.raises(nn.StateDictError, match=r"expected a dict of Tensors .*got list"):
        model.load_state_dict([("weight", np.zeros((2, 3)))])  # not a dict


BAD_VALUES = {
    "wrong shape": lambda v: np.zeros(v.shape + (1,), v.dtype),
    "strings": lambda v: np.full(v.shape, "x"),
    "objects": lambda v: np.full(v.shape, None, dtype=object),
    "None": lambda v: None,
    "complex": lambda v: v.astype(np.complex128) + 1j,
}
BAD_VALUE_REASONS = {  # what the error says about each
    "wrong shape": r"shape \(.*\) in the state dict",
    "strings": "dtype <U1 is not numeric",
    "objects": "dtype object is not numeric",
    "None": "dtype object is not numeric",
    "complex": "dtype complex128 cannot become float32",
}
KEYS = ["0.weight", "0.bias", "1.weight", "1.bias"]


@pytest.mark.parametrize("bad_key", KEYS)
@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_nothing_changes_when_any_one_entry_is_bad(kind, bad_key, float32_default):
    """Every other entry is valid and different; one (first ... last) is bad: the load fails
    and every parameter keeps its value."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    assert list(state) == KEYS
    state[bad_key] = BAD_VALUES[kind](state[bad_key])
    reason = re.escape(f"{bad_key}: ") + BAD_VALUE_REASONS[kind]
    with pytest.raises(nn.StateDictError, match=reason + r".*Nothing was loaded"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_buffers_are_saved_and_loaded_but_not_trained():
    class Norm(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.register_buffer("running_mean", mg.zeros(2))

    norm = Norm()
    assert [n for n, _ in norm.named_parameters()] == ["fc.weight", "fc.bias"]
    assert [n for n, _ in norm.named_buffers()] == ["running_mean"]
    assert set(norm.state_dict()) == {"fc.weight", "fc.bias", "running_mean"}
    assert norm.num_parameters() == 6
    state = norm.state_dict()
    state["running_mean"] = np.array([1.0, 2.0])
    norm.load_state_dict(state)
    np.testing.assert_array_equal(norm.running_mean.data, [1.0, 2.0])
    before = snapshot(norm)
    state["running_mean"] = np.zeros(3)
    with pytest.raises(nn.StateDictError, match=r"running_mean: shape \(3,\) in the state dict"):
        norm.load_state_dict(state)
    assert_unchanged(norm, before)


# ----- printing ----------------------------------------------------------------------------------


def test_repr_of_a_leaf_layer():
    assert repr(nn.Linear(4, 3)) == "Linear(in_features=4, out_features=3, bias=True)"
    assert repr(nn.Linear(4, 3, bias=False)) == "Linear(in_features=4, out_features=3, bias=False)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Identity()) == "Identity()"


def test_repr_nested_like_pytorch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Flatten(), nn.Linear(784, 256))
            self.blocks = nn.ModuleList([nn.Linear(256, 256)])
            self.head = nn.Linear(256, 10, bias=False)

    expected = (
        "Net(\n"
        "  (features): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Linear(in_features=784, out_features=256, bias=True)\n"
        "  )\n"
        "  (blocks): ModuleList(\n"
        "    (0): Linear(in_features=256, out_features=256, bias=True)\n"
        "  )\n"
        "  (head): Linear(in_features=256, out_features=10, bias=False)\n"
        ")"
    )
    assert repr(Net()) == expected


def test_repr_with_extra_repr_and_children_like_pytorch():
    """PyTorch puts the extra_repr on its own indented line when there are children."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def extra_repr(self):
            return "scale=0.5"

    expected = "\n".join(
        [
            "Block(",
            "  scale=0.5",
            "  (fc): Linear(in_features=2, out_features=2, bias=True)",
            ")",
        ]
    )
    assert repr(Block()) == expected


def test_parameter_repr():
    assert repr(nn.Parameter(np.zeros(2))).startswith("Parameter containing:\n")


# ----- Linear ------------------------------------------------------------------------------------


def test_linear_layout_and_default_dtype(float32_default):
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.in_features == 4 and layer.out_features == 3
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_linear_dtype_float64_honoured(rng):
    layer = nn.Linear(4, 3, dtype=np.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert layer(mg.tensor(rng.standard_normal((2, 4)))).dtype == np.float64


def test_linear_without_bias():
    layer = nn.Linear(4, 3, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]


@pytest.mark.parametrize("batch_shape", [(), (5,), (2, 5)], ids=str)
def test_linear_forward_is_x_at_weight_transposed_plus_bias(rng, batch_shape):
    layer = nn.Linear(4, 3, dtype=np.float32)
    x = rng.standard_normal(batch_shape + (4,)).astype(np.float32)
    y = layer(mg.tensor(x))
    expected = x.astype(np.float64) @ layer.weight.data.T.astype(np.float64) + layer.bias.data
    assert y.shape == batch_shape + (3,) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-6)


def test_linear_gradients_closed_form(rng):
    """For y = x W^T + b and L = sum(g * y): dL/dx = g W, dL/dW = g^T x, dL/db = sum_rows g."""
    layer = nn.Linear(4, 3, dtype=np.float64)
    x = mg.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    g = rng.standard_normal((5, 3))
    (layer(x) * g).sum().backward()
    W = layer.weight.data
    np.testing.assert_allclose(x.grad.data, g @ W, rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.data, g.T @ x.data, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, g.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(rng, bias):
    layer = nn.Linear(4, 3, bias=bias, dtype=np.float64)

    def with_parameters(x, *parameters):
        return nn.functional_call(layer, parameters, x)

    x = mg.tensor(rng.standard_normal((2, 4)))
    inputs = [x, layer.weight] + ([layer.bias] if bias else [])
    assert mg.gradcheck(with_parameters, *inputs)


def test_linear_shape_error_message():
    layer = nn.Linear(4, 3)
    with pytest.raises(mg.ShapeError) as info:
        layer(mg.zeros(2, 5))
    assert str(info.value) == (
        "Linear(in_features=4, out_features=3, bias=True): got input of shape (2, 5); "
        "the last axis must have size 4"
    )
    with pytest.raises(
        ValueError, match=r"got input of shape \(\); the last axis must have size 4"
    ):
        layer(mg.tensor(1.0))  # ShapeError is a ValueError


def test_linear_default_init_is_seeded():
    mg.manual_seed(3)
    a = nn.Linear(5, 4)
    mg.manual_seed(3)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


# ----- Flatten -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, shape",
    [(1, -1, (2, 60)), (0, -1, (120,)), (1, 2, (2, 12, 5)), (2, 3, (2, 3, 20)), (0, 1, (6, 4, 5))],
)
def test_flatten_shapes(rng, start, end, shape):
    x = rng.standard_normal((2, 3, 4, 5))
    y = nn.Flatten(start, end)(mg.tensor(x))
    assert y.shape == shape
    np.testing.assert_array_equal(y.data, x.reshape(shape))


def test_flatten_gradient_has_input_shape(rng):
    x = mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    g = rng.standard_normal((2, 12))
    (nn.Flatten()(x) * g).sum().backward()
    np.testing.assert_array_equal(x.grad.data, g.reshape(2, 3, 4))


# ----- a custom model trains ---------------------------------------------------------------------


def test_custom_mlp_trains_with_plain_sgd(rng):
    """50 steps of SGD written here reduce the mean squared error of y = sin(2x) a lot."""
    mg.manual_seed(0)
    model = MLP(1, 32, 1)
    x = rng.uniform(-1.5, 1.5, (64, 1)).astype(np.float32)
    y = np.sin(2 * x)
    xs, ys = mg.tensor(x), mg.tensor(y)

    def loss_fn():
        return ((model(xs) - ys) ** 2).mean()

    initial = loss_fn().item()
    lr = 0.1
    for _ in range(50):
        model.zero_grad()
        loss = loss_fn()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.data -= lr * p.grad.data
    final = loss_fn().item()
    assert np.isfinite(final)
    assert final < 0.5 * initial
    assert all(p.dtype == np.float32 for p in model.parameters())
