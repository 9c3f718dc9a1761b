"""mg.compile: a replay computes what the eager function computes, bit for bit, or it does not
happen (every guard provokes a new recording; what cannot be replayed runs eagerly).

Exactness is checked against the eager function itself (the same numpy calls must give the same
bits) and, where a formula exists, against it.
"""

import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

rng = np.random.default_rng(5)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def logistic(X, y):
    def loss(w):
        return mg.log(1 + mg.exp(-y * (X @ w))).mean()

    return loss


def problem(n=20, rows=64):
    X = rng.standard_normal((rows, n)) / np.sqrt(n)
    y = rng.choice([-1.0, 1.0], rows)
    return X, y


def replays(compiled) -> int:
    """How many recordings ``compiled`` keeps that replay (not eager)."""
    return sum(1 for e in compiled.recordings.values() if e.program != "eager")


def test_a_compiled_gradient_equals_the_eager_one_and_the_closed_form_bit_for_bit():
    X, y = problem()
    loss = logistic(X, y)
    grad = mg.compile(mg.grad(loss))
    for _ in range(5):
        w = mg.tensor(rng.standard_normal(20))
        got = grad(w)
        assert same_bits(got.data, mg.grad(loss)(w).data)
        closed = X.T @ (-y / (1 + np.exp(y * (X @ w.data)))) / len(y)
        np.testing.assert_allclose(got.data, closed, rtol=1e-12, atol=1e-15)
    entry = next(iter(grad.recordings.values()))
    assert entry.verified and entry.program != "eager"


def test_the_replay_runs_without_the_engine():
    """After the recording and the one verified replay, the function itself is not called."""
    calls = []
    X, y = problem()
    loss = logistic(X, y)

    def f(w):
        calls.append(1)
        return mg.grad(loss)(w)

    compiled = mg.compile(f)
    w = mg.tensor(rng.standard_normal(20))
    for _ in range(6):
        compiled(w)
    assert len(calls) == 2  # the recording and the verifying call


def test_hessian_and_hvp_compiled_match_the_closed_forms():
    X, y = problem(n=8)
    loss = logistic(X, y)
    hessian = mg.compile(mg.hessian(loss))
    hvp = mg.compile(lambda w, v: mg.hvp(loss, (w,), (v,)))
    for _ in range(3):
        w, v = mg.tensor(rng.standard_normal(8)), mg.tensor(rng.standard_normal(8))
        p = 1 / (1 + np.exp(-(X @ w.data)))
        H = X.T @ (X * (p * (1 - p))[:, None]) / len(y)
        np.testing.assert_allclose(hessian(w).data, H, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(hvp(w, v).data, H @ v.data, rtol=1e-10, atol=1e-14)
        assert same_bits(hessian(w).data, mg.hessian(loss)(w).data)


def test_a_module_inference_pass_is_replayed_exactly():
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3), nn.LogSoftmax(dim=1))
    forward = mg.compile(lambda x: model(x))
    with mg.no_grad():
        for _ in range(4):
            x = mg.tensor(rng.standard_normal((5, 6)))
            assert same_bits(forward(x).data, model(x).data)
    assert replays(forward) == 1


def test_parameters_changed_in_place_or_rebound_are_read_again():
    """A replay reads each outside tensor's array when it runs: an update in place, and a new
    array of the same form, are seen as the eager function sees them."""
    W = mg.tensor(rng.standard_normal((4, 3)))
    f = mg.compile(lambda x: (x @ W).tanh())
    x = mg.tensor(rng.standard_normal((2, 4)))
    f(x), f(x)
    W.data += 1.0
    assert same_bits(f(x).data, np.tanh(x.data @ W.data))
    W.data = rng.standard_normal((4, 3))
    assert same_bits(f(x).data, np.tanh(x.data @ W.data))
    W.data = rng.standard_normal((5, 3))  # another shape: recorded again, and refused as eager
    with pytest.raises(mg.ShapeError):
        f(x)


def test_a_new_form_of_the_arguments_is_recorded_again():
    f = mg.compile(lambda x, scale: (x * scale).sum(dim=0), cache_size=2)
    a, b = mg.tensor(rng.standard_normal((3, 2))), mg.tensor(rng.standard_normal((4, 2)))
    for x in (a, b, a):
        assert same_bits(f(x, 2.0).data, (x.data * 2.0).sum(axis=0))
    assert same_bits(f(a, 3.0).data, (a.data * 3.0).sum(axis=0))  # a number is part of the form
    assert same_bits(f(a.float(), 2.0).data, (a.data.astype(np.float32) * 2.0).sum(axis=0))
    assert len(f.recordings) == 2  # the cache keeps the newest two forms


def test_grad_mode_is_part_of_the_form():
    w = mg.tensor(rng.standard_normal(3), requires_grad=True)
    f = mg.compile(lambda x: (x * w).sum())
    x = mg.tensor(rng.standard_normal(3))
    with mg.no_grad():
        assert same_bits(f(x).data, (x.data * w.data).sum())
        f(x)
    with pytest.warns(mg.CompileWarning, match="requires grad"):
        out = f(x)  # with grad on, the result has a graph: eager, and it still works
    out.backward()
    assert same_bits(w.grad.data, x.data)


def test_a_global_number_the_function_reads_is_guarded():
    global SCALE
    SCALE = 2.0
    f = mg.compile(scaled)
    x = mg.tensor(rng.standard_normal(4))
    f(x), f(x)
    SCALE = 5.0
    assert same_bits(f(x).data, x.data * 5.0)


SCALE = 2.0


def scaled(x):
    return x * SCALE


def test_a_truth_value_read_from_a_tensor_is_a_guard():
    def f(x):
        if (x > 0).all():
            return x * 2
        return x * 3

    compiled = mg.compile(f)
    positive, mixed = mg.tensor([1.0, 2.0]), mg.tensor([1.0, -2.0])
    compiled(positive), compiled(positive)
    assert same_bits(compiled(mixed).data, mixed.data * 3)  # the guard fails: recorded again
    assert same_bits(compiled(positive).data, positive.data * 2)


def test_a_value_read_into_python_runs_eagerly_with_one_warning():
    def f(x):
        return x * x.sum().item()

    compiled = mg.compile(f)
    x = mg.tensor([1.0, 2.0])
    with pytest.warns(mg.CompileWarning, match=r"item\(\) of a tensor's value.*test_compile.py"):
        assert same_bits(compiled(x).data, x.data * 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        y = mg.tensor([2.0, 2.0])
        assert same_bits(compiled(y).data, y.data * 4.0)
    with pytest.raises(mg.CompileError, match=r"item\(\).*fullgraph=True"):
        mg.compile(f, fullgraph=True)(x)


def test_random_draws_are_replayed_from_the_same_stream():
    """Each replay draws again, from the generator's stream, as the eager function would: the
    same numbers as an eager run from the same seed, and different ones every call."""
    dropout = nn.Dropout(0.5)
    masks = []
    for compiled in (False, True):
        mg.manual_seed(7)
        f = mg.compile(lambda x: dropout(x)) if compiled else (lambda x: dropout(x))
        masks.append([f(mg.ones(4, 4)).data for _ in range(5)])
    assert all(same_bits(a, b) for a, b in zip(*masks))
    assert len({m.tobytes() for m in masks[1]}) == 5
    generator = mg.Generator(3)
    noise = mg.compile(lambda x: x + mg.randn(3, generator=generator))
    first = [noise(mg.zeros(3)).data for _ in range(3)]
    generator.manual_seed(3)  # reseeded: the replay draws from the stream as it is now
    assert all(same_bits(a, noise(mg.zeros(3)).data) for a in first)


def test_check_raises_at_a_replay_that_differs():
    f = mg.compile(lambda x: (x * 2).exp(), check=True)
    x = mg.tensor(rng.standard_normal(3))
    f(x), f(x)
    entry = next(iter(f.recordings.values()))
    entry.program.replay = lambda inputs: (np.zeros(3),)  # a replay gone wrong
    with pytest.raises(mg.CompileError, match=r"check=True.*the result differs"):
        f(x)


def test_without_check_a_differing_first_replay_is_not_trusted():
    f = mg.compile(lambda x: (x * 2).exp())
    x = mg.tensor(rng.standard_normal(3))
    f(x)
    entry = next(iter(f.recordings.values()))
    entry.program.replay = lambda inputs: (np.zeros(3),)
    with pytest.warns(mg.CompileWarning, match="replay differs from the eager run"):
        assert same_bits(f(x).data, np.exp(x.data * 2))
    assert same_bits(f(x).data, np.exp(x.data * 2))  # eager from now on


def test_compile_as_a_decorator_and_its_arguments():
    @mg.compile
    def double(x):
        return x * 2

    @mg.compile(check=True)
    def triple(x):
        return x * 3

    x = mg.tensor([1.0])
    assert double(x).item() == 2.0 and triple(x).item() == 3.0 and double.__name__ == "double"
    assert mg.compile(double.__wrapped__, disable=True) is double.__wrapped__
    with pytest.raises(TypeError, match="takes a function"):
        mg.compile(3)


def test_memory_of_a_replay_is_freed_as_it_goes():
    """Each array is deleted after its last use in the replay: a chain of 1 MB steps never holds
    more than a few of them."""
    import tracemalloc

    def chain(x):
        for _ in range(20):
            x = (x * 1.0001).sin()
        return x.sum()

    f = mg.compile(chain)
    x = mg.tensor(rng.standard_normal(125_000))  # 1 MB
    f(x), f(x)
    tracemalloc.start()
    f(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * x.data.nbytes


def test_module_hooks_are_recorded_like_any_python():
    model = nn.Linear(3, 2)
    model.register_forward_hook(lambda module, args, out: out * 2)
    forward = mg.compile(lambda x: model(x).detach())
    x = mg.tensor(rng.standard_normal((4, 3)))
    linear = x.data @ model.weight.data.T + model.bias.data
    for _ in range(3):
        assert same_bits(forward(x).data, 2 * linear)
    seen = []
    model.register_forward_hook(lambda module, args, out: seen.append(out.abs().max().item()))
    with pytest.warns(mg.CompileWarning, match=r"item\(\)"):
        forward(x)  # the hooks changed what the module holds: recorded again, and it reads
    assert len(seen) == 1


def test_a_compiled_function_called_while_another_records_is_part_of_that_recording():
    inner = mg.compile(lambda x: x.exp())
    outer = mg.compile(lambda x: inner(x * 2).sum())
    x = mg.tensor(rng.standard_normal(4))
    for _ in range(3):
        assert same_bits(outer(x).data, np.exp(x.data * 2).sum())
    assert replays(outer) == 1


def test_changes_the_recording_would_miss_run_eagerly():
    W = mg.tensor(rng.standard_normal((3, 2)))

    def rebinds(x):
        y = x @ W
        W.data = W.data + 1.0
        return y

    with pytest.warns(mg.CompileWarning, match=r"\.data is rebound inside the function"):
        mg.compile(rebinds)(mg.tensor(rng.standard_normal((4, 3))))
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    def sets_grad(x):
        y = (x * w).sum().detach()
        w.grad = mg.ones(2)
        return y

    with pytest.warns(mg.CompileWarning, match=r"\.grad is set without backward"):
        mg.compile(sets_grad)(mg.tensor([3.0, 4.0]))
    assert same_bits(w.grad.data, [1.0, 1.0])


def test_a_learning_rate_read_as_a_python_float_runs_eagerly():
    import math

    class RootRate(mg.optim.SGD):
        def update(self, p, grad, state, group):
            p.add_(grad, alpha=-math.sqrt(group["lr"]))  # float() of the recorded number

    w = mg.nn.Parameter(np.ones(2))
    optimizer = RootRate([w], lr=0.04)

    def step(x):
        optimizer.zero_grad()
        loss = (w * x).sum()
        loss.backward()
        optimizer.step()
        return loss

    with pytest.warns(mg.CompileWarning, match=r"float\(\) of a recorded number \(0.04\)"):
        mg.compile(step)(mg.tensor([1.0, 2.0]))
    assert same_bits(w.data, [0.8, 0.6])  # the eager step: w - 0.2 x
