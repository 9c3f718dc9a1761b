"""Recurrent layers over whole sequences: ``RNN``, ``LSTM``, ``GRU``, with PyTorch's arguments
(``num_layers``, ``bias``, ``batch_first``, ``dropout``, ``bidirectional``, the LSTM's
``proj_size``), parameter names and layouts (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ``weight_hr_l0``, ``..._reverse``), initialisation and return values, so
``state_dict``s move between minigrad and PyTorch key for key.

A direction of a layer is one product for the input part of every time step (``Affine`` over
the sequence as (T * N, input) rows), then per step a slice of it, the hidden product and the
cell's own node (``rnn_cells.cell_step``), and one concatenation of the outputs at the end. The
backward pass through T steps is iterative and its memory linear in T.
"""

from __future__ import annotations

import numbers
import operator
import warnings

import numpy as np

from .. import ops
from ..errors import OpError, ShapeError
from ..functions import stack
from ..primitive import apply
from ..tensor import Tensor
from .checks import check_size, parameter_dtype, same_dtype
from .dropout import dropout
from .layers import check_input
from .module import Module, Parameter
from .rnn_cells import GATES, affine, cell_step, initial_uniform_, nonlinearity_mode

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters, checks and the loop over time.

    ``layer(input, hx=None)``: ``input`` (L, N, input_size), (N, L, input_size) when
    ``batch_first``, or (L, input_size) for one sequence. ``hx``: the initial hidden state
    (num_layers * num_directions, N, H_out), or (h_0, c_0) for an LSTM, zeros when None.
    Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for an LSTM): output (L, N,
    num_directions * H_out), the last layer's h at every step (both directions concatenated),
    h_n and c_n the final states of every layer and direction, shaped as hx. H_out is
    ``proj_size`` if set, else ``hidden_size``.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *, dtype=None,
                 generator=None):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        dtype = parameter_dtype(who, dtype)
        if mode not in GATES:
            raise OpError(f"{who}: unrecognized RNN mode {mode!r}; choose from {sorted(GATES)}")
        self.mode = mode
        self.input_size = check_size(who, "input_size", input_size)
        self.hidden_size = _positive(who, "hidden_size", hidden_size)
        self.num_layers = _positive(who, "num_layers", num_layers)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout = _dropout(who, dropout, self.num_layers)
        self.bidirectional = bool(bidirectional)
        self.proj_size = _proj_size(who, mode, proj_size, self.hidden_size)
        gates, out = GATES[mode] * self.hidden_size, self.proj_size or self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._all_weights: list[list[str]] = []  # names, per layer and direction, as PyTorch's
        for layer in range(self.num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {
                    "weight_ih": (gates, self.input_size if layer == 0 else out * directions),
                    "weight_hh": (gates, out),
                }
                if self.bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if self.proj_size:
                    shapes["weight_hr"] = (self.proj_size, self.hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name + suffix, Parameter(np.empty(shape, dtype)))
                self._all_weights.append([name + suffix for name in shapes])
        self._flat_weights_names = [name for names in self._all_weights for name in names]
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) again."""
        initial_uniform_(self, self.hidden_size, generator)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in PyTorch's order (w_ih, w_hh, b_ih,
        b_hh, w_hr)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN; minigrad's
        products take them as they are. Accepted so PyTorch code runs unchanged."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                              ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):  # fmt: skip
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def _name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    # ----- forward -------------------------------------------------------------------------------

    def forward(self, input, hx=None):
        x, batched = self._time_major(input)
        dtype = np.result_type(x.dtype, self.weight_ih_l0.dtype)
        states = self._initial_states(hx, batched, x.shape[1], dtype)
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(directions):
                k = layer * directions + d
                out, final = self._direction(x, states[k], self.all_weights[k], reverse=d == 1)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if directions == 1 else apply(ops.Concatenate, *outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, True)
        if not batched:
            x = x.reshape((x.shape[0], x.shape[2]))
        elif self.batch_first:
            x = x.transpose(0, 1)

        def stacked(states):
            s = stack(states)  # (num_layers * directions, N, size)
            return s if batched else s.reshape((s.shape[0], s.shape[2]))

        if self.mode == "LSTM":
            return x, (stacked([h for h, _ in finals]), stacked([c for _, c in finals]))
        return x, stacked(finals)

    def _time_major(self, input) -> tuple[Tensor, bool]:
        """The input as (sequence, batch, input_size), checked, and whether it was batched."""
        x, _ = same_dtype(type(self).__name__, input, self.weight_ih_l0)
        if x.ndim not in (2, 3):
            order = "batch, sequence" if self.batch_first else "sequence, batch"
            raise ShapeError(
                f"{self._name()}: expected input to be 3-D ({order}, input_size) or 2-D "
                f"(sequence, input_size) for one sequence, got shape {x.shape}"
            )
        check_input(self, x, -1, self.input_size, "the last axis (input_size)")
        if x.shape[1 if x.ndim == 3 and self.batch_first else 0] == 0:
            raise ShapeError(f"{self._name()}: got input of shape {x.shape}; the sequence is empty")
        if x.ndim == 2:
            return x.reshape((x.shape[0], 1, x.shape[1])), False
        return (x.transpose(0, 1) if self.batch_first else x), True

    def _direction(self, x: Tensor, state, params: list, reverse: bool):
        """One direction of one layer over the sequence x (T, N, in): output (T, N, H_out) and
        the final state."""
        w_ih, w_hh = params[0], params[1]
        b_ih, b_hh = (params[2], params[3]) if self.bias else (None, None)
        w_hr = params[-1] if self.proj_size else None
        T, N, size = x.shape
        gru = self.mode == "GRU"
        # b_hh joins the input products, except for a GRU (r multiplies b_hn).
        bias = b_ih if gru or b_ih is None else apply(ops.Add, b_ih, b_hh)
        xg = affine(x.reshape((T * N, size)), w_ih, bias).reshape((T, N, -1))
        hs = []
        for t in reversed(range(T)) if reverse else range(T):
            xg_t = apply(ops.GetItem, xg, index=(t,))
            state = cell_step(self.mode, xg_t, state, w_hh, b_hh if gru else None, w_hr)
            hs.append(state[0] if self.mode == "LSTM" else state)
        if reverse:
            hs.reverse()
        out = apply(ops.Concatenate, *hs, axis=0)  # (T * N, H_out): one node for all steps
        return out.reshape((T, N, out.shape[1])), state

    def _initial_states(self, hx, batched: bool, N: int, dtype) -> list:
        """The initial state of each layer and direction: h (N, H_out), or (h, c) for an LSTM."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        sizes = {"h_0": self.proj_size or self.hidden_size}
        if self.mode == "LSTM":
            sizes["c_0"] = self.hidden_size
        if hx is None:
            zeros = [
                [Tensor(np.zeros((N, size), dtype)) for _ in range(count)]
                for size in sizes.values()
            ]
        else:
            pair = isinstance(hx, tuple | list) and len(hx) == 2
            if self.mode == "LSTM" and not pair:
                raise OpError(
                    f"{self._name()}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}"
                )
            if self.mode != "LSTM" and isinstance(hx, tuple):
                raise OpError(
                    f"{self._name()}: hx must be one Tensor h_0, got a tuple (an LSTM takes "
                    f"(h_0, c_0))"
                )
            given = hx if self.mode == "LSTM" else (hx,)
            zeros = [
                self._initial(value, name, size, count, batched, N)
                for value, (name, size) in zip(given, sizes.items())
            ]
        return list(zip(*zeros)) if self.mode == "LSTM" else zeros[0]

    def _initial(self, value, name: str, size: int, count: int, batched: bool, N: int) -> list:
        value, _ = same_dtype(type(self).__name__, value, self.weight_hh_l0)
        expected = (count, N, size) if batched else (count, size)
        if value.shape != expected:
            layout = (
                "num_layers * num_directions, "
                + ("batch, " if batched else "")
                + ("hidden_size" if name == "c_0" or not self.proj_size else "proj_size")
            )
            raise ShapeError(
                f"{self._name()}: {name} has shape {value.shape}; expected {expected}, that is "
                f"({layout}){' for one sequence (a 2-D input)' if not batched else ''}"
            )
        if not batched:
            value = value.reshape((count, 1, size))
        return [apply(ops.GetItem, value, index=(k,)) for k in range(count)]


def _positive(who: str, name: str, value) -> int:
    value = check_size(who, name, value)
    if value == 0:
        raise OpError(f"{who}: {name} must be greater than zero")
    return value


def _dropout(who: str, p, num_layers: int) -> float:
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p <= 1:
        raise OpError(
            f"{who}: dropout should be a number in range [0, 1] representing the probability of "
            f"an element being zeroed, got {p!r}"
        )
    if p > 0 and num_layers == 1:
        warnings.warn(
            f"{who}: dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={p} and "
            f"num_layers={num_layers}",
            stacklevel=3,
        )
    return float(p)


def _proj_size(who: str, mode: str, proj_size, hidden_size: int) -> int:
    proj_size = operator.index(proj_size)
    if proj_size < 0:
        raise OpError(
            f"{who}: proj_size should be a positive integer or zero to disable projections"
        )
    if proj_size and mode != "LSTM":
        raise OpError(f"{who}: proj_size argument is only supported for LSTM, not RNN or GRU")
    if proj_size and proj_size >= hidden_size:
        raise OpError(
            f"{who}: proj_size has to be smaller than hidden_size, got proj_size={proj_size} and "
            f"hidden_size={hidden_size}"
        )
    return proj_size


class RNN(RNNBase):
    """An Elman RNN, layer by layer: ``h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)``
    (``nonlinearity="relu"``: relu). Arguments, shapes and returns: see ``RNNBase``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, dtype=None,
                 generator=None):  # fmt: skip
        mode = nonlinearity_mode("RNN", nonlinearity)
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, generator=generator)  # fmt: skip
        self.nonlinearity = nonlinearity  # NOTE: as PyTorch's, the repr does not show it


class LSTM(RNNBase):
    """A multi-layer LSTM (gates i, f, g, o; see ``nn.LSTMCell`` for the equations), with
    ``proj_size``: ``h_t = W_hr (o_t * tanh(c_t))``. Returns ``(output, (h_n, c_n))``; see
    ``RNNBase``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, dtype=None, generator=None):  # fmt: skip
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, generator=generator)  # fmt: skip


class GRU(RNNBase):
    """A multi-layer GRU (gates r, z, n; see ``nn.GRUCell`` for the equations). Returns
    ``(output, h_n)``; see ``RNNBase``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, generator=generator)  # fmt: skip
