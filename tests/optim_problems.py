"""Problems the optimizer tests share: a small network whose every parameter is followed step by
step, and the gradients backward gives it."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn


def network(init_seed=0):
    """A 3 -> 4 -> 2 tanh network in float64 (initialised from ``init_seed``), with a fixed batch
    of 8 regression targets."""
    rng = np.random.default_rng(0)
    gen = mg.Generator(init_seed)
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64, generator=gen),
        nn.Tanh(),
        nn.Linear(4, 2, dtype=np.float64, generator=gen),
    )
    x, y = mg.tensor(rng.normal(size=(8, 3))), mg.tensor(rng.normal(size=(8, 2)))
    return model, lambda: ((model(x) - y) ** 2).mean()


def backward_grads(params, loss_fn):
    """Fresh gradients by minigrad's backward; copies of them, for the reference."""
    for p in params:
        p.grad = None
    loss_fn().backward()
    return [np.array(p.grad.data, copy=True) for p in params]


def assert_float32_kept(cls, hyperparameters: dict, steps: int = 2) -> None:
    """A float32 parameter and its state arrays stay float32 through ``steps`` steps (Python-float
    hyperparameters are weak, as in PyTorch)."""
    p = mg.tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    opt = cls([p], **hyperparameters)
    for _ in range(steps):
        opt.zero_grad()
        (p**2).sum().backward()
        opt.step()
    assert p.dtype == np.float32, cls.__name__
    arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
    assert arrays and all(v.dtype == np.float32 for v in arrays), cls.__name__
