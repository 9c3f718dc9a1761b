"""Recurrent cells, one time step each: ``RNNCell``, ``LSTMCell``, ``GRUCell``, with PyTorch's
names, layouts (``weight_ih`` (gates * hidden, input), ``weight_hh``, ``bias_ih``, ``bias_hh``;
gates i, f, g, o for the LSTM and r, z, n for the GRU), initialisation and equations.

A step is the two products ``x @ W_ih.T + b_ih`` and ``h @ W_hh.T + b_hh`` (``Affine`` nodes)
and one node for the rest: ``ops.LSTMStep`` / ``ops.GRUStep``, or the activation of the sum
for a plain RNN. ``cell_step`` is the part after the input product, which the sequence layers
(recurrent.py) share: they compute the input products of all time steps in one product.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..errors import OpError, ShapeError
from ..primitive import apply
from ..tensor import Tensor
from . import init
from .checks import check_size, parameter_dtype, same_dtype
from .module import Module, Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def affine(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` for a 2-D ``x``: one node."""
    return apply(ops.Affine, x, weight) if bias is None else apply(ops.Affine, x, weight, bias)


def cell_step(mode: str, xg: Tensor, state, w_hh, b_hh=None, w_hr=None):
    """One time step from the input part ``xg`` of the pre-activations (``x @ W_ih.T`` plus
    biases), for a batch (N, gates * H): the new state, ``h`` (RNN, GRU) or ``(h, c)`` (LSTM).
    ``w_hr`` projects an LSTM's ``h`` (PyTorch's ``proj_size``)."""
    if mode == "LSTM":
        h, c = state
        hc = apply(ops.LSTMStep, xg, affine(h, w_hh, b_hh), c)  # h and c stacked
        h, c = apply(ops.GetItem, hc, index=(0,)), apply(ops.GetItem, hc, index=(1,))
        return (h if w_hr is None else affine(h, w_hr)), c
    hg = affine(state, w_hh, b_hh)
    if mode == "GRU":
        return apply(ops.GRUStep, xg, hg, state)
    return apply(ops.Tanh if mode == "RNN_TANH" else ops.Relu, apply(ops.Add, xg, hg))


def initial_uniform_(module: Module, hidden_size: int, generator=None) -> None:
    """PyTorch's initialisation of recurrent layers and cells: every parameter from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in the order of ``parameters()``."""
    bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound, generator)


def nonlinearity_mode(who: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise OpError(
            f"{who}: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'."
        )
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


class RNNCellBase(Module):
    """Parameters and argument checks shared by the three cells."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        dtype = parameter_dtype(who, dtype)
        self.input_size = check_size(who, "input_size", input_size)
        self.hidden_size = check_size(who, "hidden_size", hidden_size)
        self.bias = bool(bias)
        rows = GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(np.empty((rows, input_size), dtype))
        self.weight_hh = Parameter(np.empty((rows, hidden_size), dtype))
        self.bias_ih = Parameter(np.empty(rows, dtype)) if bias else None
        self.bias_hh = Parameter(np.empty(rows, dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) again."""
        initial_uniform_(self, self.hidden_size, generator)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _input(self, x) -> tuple[Tensor, bool]:
        """The input as (N, input_size), and whether it was one sample (input_size,)."""
        x, _ = same_dtype(type(self).__name__, x, self.weight_ih)
        if x.ndim not in (1, 2):
            raise ShapeError(
                f"{self._name()}: expected input to be 1-D (input_size,) or 2-D (batch, "
                f"input_size), got shape {x.shape}"
            )
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._name()}: got input of shape {x.shape}; its last axis must have size "
                f"input_size={self.input_size}"
            )
        return (x, False) if x.ndim == 2 else (x.reshape((1, -1)), True)

    def _state(self, hx, x: Tensor, unbatched: bool, name: str) -> Tensor:
        """A hidden state given for input ``x`` (N, input_size), as (N, hidden_size)."""
        N, H = x.shape[0], self.hidden_size
        if hx is None:
            return Tensor(np.zeros((N, H), np.result_type(x.dtype, self.weight_hh.dtype)))
        hx, _ = same_dtype(type(self).__name__, hx, self.weight_hh)
        expected = (H,) if unbatched else (N, H)
        if hx.shape != expected:
            shape = "(hidden_size,) for a 1-D input" if unbatched else "(batch, hidden_size)"
            raise ShapeError(
                f"{self._name()}: {name} has shape {hx.shape}; expected {expected}, {shape} "
                f"(input of shape {(self.input_size,) if unbatched else x.shape})"
            )
        return hx.reshape((1, H)) if unbatched else hx

    def _step(self, x: Tensor, state):
        xg = affine(x, self.weight_ih, self.bias_ih)
        return cell_step(self.mode, xg, state, self.weight_hh, self.bias_hh)


class RNNCell(RNNCellBase):
    """An Elman cell: ``h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)`` (or relu).

    ``cell(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, hidden_size) or
    (hidden_size,), zeros when None; returns h' of hx's shape. Parameters as PyTorch's:
    ``weight_ih`` (hidden_size, input_size), ``weight_hh`` (hidden_size, hidden_size),
    ``bias_ih``, ``bias_hh`` (hidden_size,), all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, dtype=None, generator=None):  # fmt: skip
        mode = nonlinearity_mode("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype=dtype, generator=generator)
        self.mode, self.nonlinearity = mode, nonlinearity

    def forward(self, input, hx=None) -> Tensor:
        x, unbatched = self._input(input)
        h = self._step(x, self._state(hx, x, unbatched, "hx"))
        return h[0] if unbatched else h


class LSTMCell(RNNCellBase):
    """A long short-term memory cell (PyTorch's equations, gates i, f, g, o):

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        c' = f * c + i * g,    h' = o * tanh(c')

    ``cell(input, (h, c))`` (zeros when hx is None) returns ``(h', c')``; shapes as ``RNNCell``'s,
    ``weight_ih`` (4 * hidden_size, input_size), ``weight_hh`` (4 * hidden_size, hidden_size).
    """

    mode = "LSTM"

    def forward(self, input, hx=None) -> tuple[Tensor, Tensor]:
        x, unbatched = self._input(input)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, tuple | list) or len(hx) != 2:
            raise OpError(f"{self._name()}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        state = tuple(self._state(s, x, unbatched, name) for s, name in zip(hx, ("h_0", "c_0")))
        h, c = self._step(x, state)
        return (h[0], c[0]) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """A gated recurrent unit (PyTorch's equations, gates r, z, n):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

    ``cell(input, hx=None)`` returns h'; shapes as ``RNNCell``'s, ``weight_ih``
    (3 * hidden_size, input_size), ``weight_hh`` (3 * hidden_size, hidden_size).
    """

    mode = "GRU"

    def forward(self, input, hx=None) -> Tensor:
        x, unbatched = self._input(input)
        h = self._step(x, self._state(hx, x, unbatched, "hx"))
        return h[0] if unbatched else h
