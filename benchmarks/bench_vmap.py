"""Per-sample gradients and per-sample gradient norms of an MLP and a small CNN, against
honest baselines.

The MLP is 784-128-10 with ReLU, float64, a batch of 128 random inputs with random labels
(fixed seed), softmax cross-entropy; an example's gradient is that of its own loss. The CNN
(``make_cnn``) is conv 3x3 1->8 (padding 1) -> ReLU -> max pool 2 -> conv 3x3 8->16 (padding
1) -> ReLU -> max pool 2 -> linear 784->10, float64, a batch of 64 random 28x28 images.
Compared, in one run of interleaved rounds (process CPU time, one BLAS thread; see timing.py):

- ``nn.per_sample_grads`` (``vmap(grad)``) against a loop of 128 single-example backward passes
  (target: at most a third of the loop's time) and against ``NumpyPerSample``, per-sample
  gradients written by hand in numpy (the fastest we could write; its docstring says why);
- ``nn.per_sample_grad_norms`` against one batch gradient, for both networks (target: at most
  1.5x; the CNN's norms come from its layers' patches and output gradients, not from
  ``vmap``), and for the CNN the norms of ``nn.per_sample_grads`` too, for comparison;
- ``torch.func.vmap(grad)``, when PyTorch is installed (it is never a dependency of minigrad).

Before timing, every route must agree: the per-sample gradients of minigrad, the loop and numpy
(and PyTorch's, when installed) to 1e-12, the norms with those of the per-sample gradients to
1e-12 (both networks), and the batch gradient with their mean.

    python benchmarks/bench_vmap.py [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import calls_for, interleaved, warn

import minigrad as mg
from minigrad import nn

SIZES = (784, 128, 10)
BATCH = 128
CNN_BATCH, IMAGE = 64, 28
F = nn.functional


def make_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    kind = mg.float64
    model = nn.Sequential(
        nn.Linear(*SIZES[:2], dtype=kind), nn.ReLU(), nn.Linear(*SIZES[1:], dtype=kind)
    )
    x = rng.standard_normal((BATCH, SIZES[0]))
    labels = rng.integers(0, SIZES[2], BATCH)
    return model, x, labels


def make_cnn(seed: int = 0):
    rng = np.random.default_rng(seed)
    kind = mg.float64
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, dtype=kind), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, dtype=kind), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * (IMAGE // 4) ** 2, 10, dtype=kind),
    )  # fmt: skip
    x = mg.tensor(rng.standard_normal((CNN_BATCH, 1, IMAGE, IMAGE)))
    return model, x, mg.tensor(rng.integers(0, 10, CNN_BATCH))


# ----- minigrad --------------------------------------------------------------------------------


def minigrad_per_sample(model, x, y):
    return nn.per_sample_grads(model, F.cross_entropy, x, y)


def minigrad_norms(model, x, y):
    return nn.per_sample_grad_norms(model, F.cross_entropy, x, y)


def norms_of_per_sample_grads(model, x, y):
    grads = nn.per_sample_grads(model, F.cross_entropy, x, y).values()
    return np.sqrt(sum(np.square(g.data).reshape(len(x), -1).sum(axis=1) for g in grads))


def minigrad_loop(model, x, y):
    """B single-example backward passes, each example's gradients written into the result."""
    params = list(model.parameters())
    out = [np.empty((BATCH, *p.shape)) for p in params]
    for i in range(BATCH):
        loss = F.cross_entropy(model(x[i : i + 1]), y[i : i + 1])
        for buffer, g in zip(out, mg.autograd.grad(loss, params), strict=True):
            buffer[i] = g.data
    return out


def minigrad_batch_gradient(model, x, y):
    return mg.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))


# ----- numpy -----------------------------------------------------------------------------------


class NumpyPerSample:
    """Per-sample gradients of the MLP by hand: why this is the fastest numpy we could write.

    The backward pass is the batch's, with each example's own loss (no 1/B), so each layer's
    output gradient ``g`` (B, out) comes from two matrix products for the whole batch. A
    layer's per-sample weight gradients are then the outer products ``g_i x_i^T``: one
    ``einsum("bo,bi->boi", g, x)`` writes the whole (B, out, in) result in one pass over memory,
    which is the floor (any route must write it; for the first layer it is 128 x 128 x 784
    doubles, 103 MB). einsum, because it is the fastest: 11 ms against 17 ms for the broadcast
    multiplication ``g[:, :, None] * x[:, None, :]`` (one thread), whose loop over a stride-0
    operand does not vectorise. The biases' are ``g`` itself."""

    def __init__(self, model):
        (self.w1, self.b1), (self.w2, self.b2) = (
            (layer.weight.data, layer.bias.data) for layer in (model[0], model[2])
        )

    def grads(self, x, labels):
        pre = x @ self.w1.T + self.b1
        h = np.maximum(pre, 0)
        logits = h @ self.w2.T + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(labels)), labels] -= 1  # the output gradient of each example's loss
        g1 = p @ self.w2
        g1 *= pre > 0
        outer = "bo,bi->boi"
        return [np.einsum(outer, g1, x), g1, np.einsum(outer, p, h), p]


# ----- PyTorch, when installed -------------------------------------------------------------------


def torch_route(model, x, labels):
    """``torch.func.vmap(grad)`` of the same model, or None without PyTorch."""
    try:
        import torch
        from torch.func import functional_call, grad, vmap
    except ImportError:
        return None
    torch.set_num_threads(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(*SIZES[:2]), torch.nn.ReLU(), torch.nn.Linear(*SIZES[1:])
    ).double()
    with torch.no_grad():
        for p, q in zip(net.parameters(), model.parameters(), strict=True):
            p.copy_(torch.from_numpy(q.data))
    params = {k: v.detach() for k, v in net.named_parameters()}
    tx, ty = torch.from_numpy(x), torch.from_numpy(labels)

    def loss_of_one(params, xi, yi):
        out = functional_call(net, params, (xi[None],))
        return torch.nn.functional.cross_entropy(out, yi[None])

    per_sample = vmap(grad(loss_of_one), in_dims=(None, 0, 0))

    def run():
        return [g.numpy() for g in per_sample(params, tx, ty).values()]

    return run


# ----- checks and timing -----------------------------------------------------------------------


def check(model, x, labels, numpy_route, torch_run) -> None:
    xt, yt = mg.tensor(x), mg.tensor(labels)
    vmapped = [g.data for g in minigrad_per_sample(model, xt, yt).values()]
    routes = {"loop": minigrad_loop(model, xt, yt), "numpy": numpy_route.grads(x, labels)}
    if torch_run is not None:
        routes["torch.func"] = torch_run()
    for name, grads in routes.items():
        for a, b in zip(vmapped, grads, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
    squared = sum(np.square(g).reshape(BATCH, -1).sum(axis=1) for g in vmapped)
    norms = minigrad_norms(model, xt, yt).data
    np.testing.assert_allclose(norms, np.sqrt(squared), rtol=1e-12, err_msg="norms")
    for a, g in zip(vmapped, minigrad_batch_gradient(model, xt, yt), strict=True):
        np.testing.assert_allclose(a.mean(axis=0), g.data, rtol=1e-12, atol=1e-15)


def check_cnn(model, x, y) -> None:
    norms = minigrad_norms(model, x, y).data
    expected = norms_of_per_sample_grads(model, x, y)
    np.testing.assert_allclose(norms, expected, rtol=1e-12, err_msg="CNN norms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a short run: the ratio lines only")
    args = parser.parse_args()
    warn()
    repeats, seconds = (5, 0.05) if args.quick else (args.repeats, 0.2)
    model, x, labels = make_problem()
    xt, yt = mg.tensor(x), mg.tensor(labels)
    numpy_route = NumpyPerSample(model)
    torch_run = torch_route(model, x, labels)
    check(model, x, labels, numpy_route, torch_run)
    cnn = make_cnn()
    check_cnn(*cnn)
    runs = {
        "per_sample_grads": (minigrad_per_sample, (model, xt, yt)),
        "loop of B backward": (minigrad_loop, (model, xt, yt)),
        "numpy per-sample": (numpy_route.grads, (x, labels)),
        "per_sample_grad_norms": (minigrad_norms, (model, xt, yt)),
        "batch gradient": (minigrad_batch_gradient, (model, xt, yt)),
        "CNN per_sample_grad_norms": (minigrad_norms, cnn),
        "CNN norms of per_sample_grads": (norms_of_per_sample_grads, cnn),
        "CNN batch gradient": (minigrad_batch_gradient, cnn),
    }
    if torch_run is not None:
        runs["torch.func.vmap(grad)"] = (torch_run, ())
    calls = {name: calls_for(fn, fn_args, seconds) for name, (fn, fn_args) in runs.items()}
    t = interleaved(runs, repeats, pause=0.05, calls=calls)
    if not args.quick:
        print(f"784-128-10 MLP, batch {BATCH}, and the CNN, batch {CNN_BATCH}, float64; all "
              f"routes agree to 1e-12; process CPU time per call, median of {repeats} "
              "interleaved rounds; ratios are medians of per-round ratios (quartiles over rounds "
              "in brackets)")  # fmt: skip
        print(", ".join(f"{name} {t.median(name) * 1e3:.2f} ms" for name in t))
    ratios = [
        ("per_sample_grads", "loop of B backward", "<= 0.33x"),
        ("per_sample_grads", "numpy per-sample", ""),
        ("per_sample_grad_norms", "batch gradient", "<= 1.5x"),
        ("CNN per_sample_grad_norms", "CNN batch gradient", "<= 1.5x"),
        ("CNN norms of per_sample_grads", "CNN batch gradient", ""),
    ]
    if torch_run is not None:
        ratios.append(("per_sample_grads", "torch.func.vmap(grad)", ""))
        ratios.append(("torch.func.vmap(grad)", "loop of B backward", ""))
    for name, baseline, target in ratios:
        low, high = t.spread(name, baseline)
        print(f"{name} / {baseline}: {t.ratio(name, baseline):5.2f}x [{low:.2f}-{high:.2f}]"
              + (f"   (target {target})" if target else ""))  # fmt: skip


if __name__ == "__main__":
    main()
