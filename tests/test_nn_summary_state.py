"""``nn.summary`` leaves the model exactly as it was (parameters, buffers, gradients, training
flags, hooks, minigrad's generator), even when the forward fails, and a failure says which layer
failed, on what shape, and what input the model takes."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.demo import make_cnn

# ----- the model is left as it was ---------------------------------------------------------------


class Probe(nn.Module):
    """Records how its forward was run: grad mode, and whether its input requires grad."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append((mg.is_grad_enabled(), self.training))
        return x


def stateful_model():
    """BatchNorm (running statistics, updated in training), Dropout (draws from minigrad's
    generator in training) and a probe."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5), Probe(), nn.Flatten(),
        nn.Linear(4 * 6 * 6, 3),
    )  # fmt: skip


def state_of(model):
    """Everything summary must not change, as plain values."""
    return {
        "tensors": {k: np.array(v.data, copy=True) for k, v in model.state_dict().items()},
        "versions": {k: v._version for k, v in model.state_dict(keep_vars=True).items()},
        "grads": {k: None if p.grad is None else id(p.grad) for k, p in model.named_parameters()},
        "training": [m.training for m in model.modules()],
        "hooks": ["_module_hooks" in vars(m) for m in model.modules()],
        "rng": repr(mg.get_rng_state()),
    }


def assert_same(before, after):
    assert before.keys() == after.keys()
    for key in before["tensors"]:
        np.testing.assert_array_equal(after["tensors"][key], before["tensors"][key], err_msg=key)
    for key in ("versions", "grads", "training", "hooks", "rng"):
        assert after[key] == before[key], key


@pytest.mark.parametrize("mode", ["eval", "train", "same"])
def test_summary_changes_nothing_in_the_model(mode):
    """Parameters, BatchNorm's running statistics, gradients, training flags (mixed on purpose),
    hooks and minigrad's generator are as before; the forward ran under no_grad, in the mode
    asked for. (A plain training-mode forward changes the statistics and the generator: the
    assertions could fail.)"""
    mg.manual_seed(0)
    model = stateful_model()
    model[0].weight.grad = mg.ones(4, 1, 3, 3)
    model[3].training = False  # mixed flags: restored one by one
    before = state_of(model)
    nn.summary(model, (2, 1, 8, 8), mode=mode)
    assert_same(before, state_of(model))
    assert model[4].seen == [(False, mode != "eval")]

    model(mg.randn(2, 1, 8, 8))  # the check above can fail: a real forward changes the state
    changed = state_of(model)
    assert changed["rng"] != before["rng"]
    assert not np.array_equal(changed["tensors"]["1.running_mean"],
                              before["tensors"]["1.running_mean"])  # fmt: skip


def test_a_users_hooks_stay_and_ours_go():
    model = stateful_model()
    calls = []
    handle = model[0].register_forward_hook(lambda m, a, out: calls.append(out.shape))
    nn.summary(model, (2, 1, 8, 8))
    assert calls == [(2, 4, 6, 6)]  # the user's hook ran in the summary's forward too
    hooks = model[0]._module_hooks
    assert len(hooks.forward) == 1 and not hooks.forward_pre
    assert all("_module_hooks" not in vars(m) for m in list(model.modules())[2:])
    handle.remove()


def test_a_wrong_input_shape_names_the_layer_and_what_it_takes():
    """(1, 8, 8) without the batch axis: the convolutions take it as one unbatched image, and the
    Linear gets (32, 16). The error (a ShapeError, as the layer's) names that Linear, the shape
    it got, what it takes, and what input_shape the model's first layer takes."""
    model = make_cnn()
    before = state_of(model)
    with pytest.raises(mg.ShapeError) as info:
        nn.summary(model, (1, 8, 8))
    message = str(info.value)
    assert "failed in 6: Linear(512→10), which got input of shape (32, 16) and takes (N, 512)" in (
        message
    )
    assert "the last axis must have size 512" in message  # the layer's own message
    assert "first layer, 0: Conv2d(1→16, 3×3), takes (N, 1, H, W)" in message
    assert "e.g. input_shape=(1, 1, H, W)" in message
    assert isinstance(info.value.__cause__, mg.ShapeError)
    assert_same(before, state_of(model))  # restored after the failure too


def test_token_ids_need_an_integer_dtype():
    model = nn.Sequential(nn.Embedding(100, 32), nn.Linear(32, 100))
    with pytest.raises(
        mg.errors.DTypeError, match=r"input_shape=\(1, L\) with dtypes=\[mg.int64\]"
    ):
        nn.summary(model, (4, 32))


def test_a_failure_in_the_models_own_code():
    class Reshapes(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4)

        def forward(self, x):
            return self.linear(x).reshape(3, 7)

    with pytest.raises(mg.ShapeError, match=r"failed in the model's own forward, which got "
                       r"input of shape \(4, 4\).*first layer, linear: Linear\(4→4\), takes "
                       r"\(N, 4\) \(e.g. input_shape=\(1, 4\)\)"):  # fmt: skip
        nn.summary(Reshapes(), (4, 4))
