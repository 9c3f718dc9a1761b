"""``nn.summary``: per-layer output shapes and parameter counts after one forward pass, like
torchinfo's ``summary``; and the model left exactly as it was.

Parameter counts are checked against closed forms (Conv2d(c_in, c_out, k): c_out * c_in * k * k +
c_out) and against the values torchinfo 1.8 prints for the same PyTorch models (written here).
"""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.demo import make_cnn


def rows_of(s):
    return [(r.path, r.label, r.output_shape, r.params) for r in s.rows]


def table_lines(s):
    """The lines of the layer table (between the second and third rules)."""
    lines = str(s).splitlines()
    rules = [i for i, line in enumerate(lines) if set(line) == {"="}]
    return lines[rules[1] + 1 : rules[2]]


# ----- models ------------------------------------------------------------------------------------


class LanguageModel(nn.Module):
    """Token ids -> embedding -> 2-layer LSTM -> logits over the vocabulary."""

    def __init__(self, vocabulary=100, width=32, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, width)
        self.lstm = nn.LSTM(width, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, vocabulary)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


class Unrolled(nn.Module):
    """An LSTMCell run over the time steps in a Python loop."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(8, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        h = c = mg.zeros(x.shape[1], 16)
        for t in range(x.shape[0]):
            h, c = self.cell(x[t], (h, c))
        return self.out(h)


class Tied(nn.Module):
    """The output layer's weight is the embedding's (weight tying), and one bias is frozen."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.frozen = nn.Linear(4, 4)
        self.head = nn.Linear(4, 10)
        self.head.weight = self.embed.weight
        self.frozen.bias.requires_grad_(False)

    def forward(self, tokens):
        return self.head(self.frozen(self.embed(tokens)))


def encoder():
    layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=2)


# ----- counts and shapes -------------------------------------------------------------------------


def test_the_demo_cnn_as_torchinfo_summarises_it(float32_default):
    """torchinfo 1.8 on the same PyTorch model with input_size=(64, 1, 8, 8): 160, 4,640, 5,130
    parameters, 9,930 in all; input 0.02 MB, parameters 0.04 MB (float32)."""
    s = nn.summary(make_cnn(), (64, 1, 8, 8))
    assert rows_of(s) == [
        ("", "Sequential", (64, 10), 0),
        ("0", "Conv2d(1→16, 3×3)", (64, 16, 8, 8), 16 * 1 * 3 * 3 + 16),
        ("1", "ReLU", (64, 16, 8, 8), 0),
        ("2", "Conv2d(16→32, 3×3)", (64, 32, 8, 8), 32 * 16 * 3 * 3 + 32),
        ("3", "ReLU", (64, 32, 8, 8), 0),
        ("4", "MaxPool2d(2×2)", (64, 32, 4, 4), 0),
        ("5", "Flatten", (64, 512), 0),
        ("6", "Linear(512→10)", (64, 10), 512 * 10 + 10),
    ]
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (9930, 9930, 0)
    assert s.param_bytes == 9930 * 4 and s.input_bytes == 64 * 64 * 4
    assert s.input_shapes == ((64, 1, 8, 8),) and s.output_shape == (64, 10)
    text = str(s)
    for line in ["Total params: 9,930", "Trainable params: 9,930", "Non-trainable params: 0",
                 "Input size (MB): 0.02", "Params size (MB): 0.04"]:  # fmt: skip
        assert line in text.splitlines()
    assert re.search(r"├─2: Conv2d\(16→32, 3×3\) +\(64, 32, 8, 8\) +4,640 +True", text)
    assert re.search(r"└─6: Linear\(512→10\) +\(64, 10\) +5,130 +True", text)


def test_columns_line_up():
    """Every row of the table ends its Param # column at the same place, under the header."""
    s = nn.summary(encoder(), (2, 10, 32))
    lines = table_lines(s)
    header = str(s).splitlines()[1]
    end = header.index("Param #") + len("Param #")
    for line in lines:
        assert line[end - 1] != " " and line[end] == " ", line
    assert max(len(line) for line in str(s).splitlines()) == len(str(s).splitlines()[0])


def test_an_lstm_language_model():
    """torchinfo on Embedding(100, 32), LSTM(32, 64, num_layers=2), Linear(64, 100) with token
    ids of shape (4, 32): 3,200, 58,368 and 6,500 parameters, 68,068 in all. The LSTM's row
    gives the shapes of (output, (h_n, c_n))."""
    s = nn.summary(LanguageModel(), (4, 32), dtypes=[mg.int64])
    lstm_layer = lambda n_in, h: 4 * h * (n_in + h) + 2 * 4 * h  # noqa: E731
    assert rows_of(s) == [
        ("", "LanguageModel", (4, 32, 100), 0),
        ("embed", "Embedding(100, 32)", (4, 32, 32), 3200),
        ("lstm", "LSTM(32→64, 2 layers)", ((4, 32, 64), ((2, 4, 64), (2, 4, 64))),
         lstm_layer(32, 64) + lstm_layer(64, 64)),
        ("head", "Linear(64→100)", (4, 32, 100), 6500),
    ]  # fmt: skip
    assert s.rows[2].params == 58368 and s.total_params == 68068
    assert s.input_bytes == 4 * 32 * 8  # int64 token ids
    assert "(4, 32, 64), ((2, 4, 64), (2, 4, 64))" in str(s)


def test_a_bidirectional_lstm():
    """torchinfo: LSTM(32, 64, num_layers=2, bidirectional=True) has 149,504 parameters and
    outputs (32, 4, 128) for input (32, 4, 32)."""
    s = nn.summary(nn.LSTM(32, 64, num_layers=2, bidirectional=True), (32, 4, 32))
    assert s.rows[0].params == s.total_params == 149504
    assert s.rows[0].output_shape == ((32, 4, 128), ((4, 4, 64), (4, 4, 64)))


def test_a_transformer_encoder_and_depth():
    """torchinfo (depth=4): MultiheadAttention 4,224 (its out_proj, used through its weights,
    counted in it), LayerNorm 64, Linear(32, 64) 2,112, Linear(64, 32) 2,080; 17,088 in all.
    With depth=1 the layers' rows hold what is below them (8,544 each, torchinfo too folds them);
    the shown rows always add up to the total."""
    model = encoder()
    s = nn.summary(model, (2, 10, 32), depth=4)
    by_path = {r.path: r for r in s.rows}
    assert by_path["layers.0.self_attn"].params == 3 * 32 * 32 + 3 * 32 + 32 * 32 + 32 == 4224
    assert by_path["layers.1.norm1"].params == 64
    assert by_path["layers.0.linear1"].params == 2112 and by_path["layers.0.linear2"].params == 2080
    assert by_path["layers.0.linear1"].output_shape == (2, 10, 64)
    assert "layers.0.self_attn.out_proj" not in by_path  # no forward of its own
    assert s.total_params == 17088 and sum(r.params for r in s.rows) == 17088
    assert [r.depth for r in s.rows[:3]] == [0, 1, 2]
    assert "│  ├─self_attn: MultiheadAttention(32, 4 heads)" in str(s)

    shallow = nn.summary(model, (2, 10, 32), depth=1)
    assert rows_of(shallow) == [
        ("", "TransformerEncoder(2 layers)", (2, 10, 32), 0),
        ("layers.0", "TransformerEncoderLayer(32, 4 heads)", (2, 10, 32), 8544),
        ("layers.1", "TransformerEncoderLayer(32, 4 heads)", (2, 10, 32), 8544),
    ]
    assert [r.params for r in nn.summary(model, (2, 10, 32), depth=0).rows] == [17088]
    assert len(nn.summary(model, (2, 10, 32)).rows) == 19  # depth 3 by default: all of them


def test_a_module_called_in_a_loop_is_one_row_with_its_calls():
    """torchinfo prints one row per call (then "(recursive)"); here the cell is one row that
    says it ran 5 times, and its parameters count once."""
    s = nn.summary(Unrolled(), (5, 3, 8))
    assert [(r.path, r.calls, r.params) for r in s.rows] == [
        ("", 1, 0), ("cell", 5, 4 * 16 * (8 + 16) + 2 * 4 * 16), ("out", 1, 16 * 2 + 2),
    ]  # fmt: skip
    assert s.rows[1].output_shape == ((3, 16), (3, 16))
    assert s.total_params == 1698  # torchinfo's total for the same model
    assert "Calls" in str(s).splitlines()[1]
    assert "Calls" not in str(nn.summary(make_cnn(), (1, 1, 8, 8)))  # shown only when needed


def test_tied_and_frozen_parameters():
    """A tied weight counts once, in the row that uses it first, as
    ``sum(p.numel() for p in model.parameters())`` does in PyTorch (70; torchinfo counts it
    twice and says 110). Frozen ones are non-trainable; a row with both is "partial"."""
    s = nn.summary(Tied(), (3,), dtypes=mg.int64)
    assert [(r.path, r.params, r.shared_params, r.trainable) for r in s.rows] == [
        ("", 0, 0, None),
        ("embed", 40, 0, True),
        ("frozen", 20, 0, "partial"),
        ("head", 10, 40, True),
    ]
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (70, 66, 4)
    assert "10 (+40 shared)" in str(s) and "Partial" in str(s)
    frozen = nn.Sequential(nn.Linear(3, 4), nn.ReLU()).requires_grad_(False)
    s = nn.summary(frozen, (2, 3))
    assert s.rows[1].trainable is False and (s.trainable_params, s.non_trainable_params) == (0, 16)


def test_a_shared_module_is_one_row():
    linear = nn.Linear(4, 4)
    model = nn.Sequential(linear, nn.Tanh(), linear)
    s = nn.summary(model, (2, 4))
    assert [(r.path, r.calls, r.params) for r in s.rows] == [("", 1, 0), ("0", 2, 20), ("1", 1, 0)]
    assert s.total_params == 20


def test_batchnorm_buffers_are_not_parameters():
    """torchinfo: Conv2d(1, 4, 3) 40, BatchNorm2d(4) 8 (weight and bias), 48 in all; the running
    statistics are buffers (their memory is listed apart)."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    s = nn.summary(model, (2, 1, 5, 5))
    assert [r.params for r in s.rows] == [0, 40, 8] and s.total_params == 48
    assert s.buffer_bytes == (4 + 4) * 8 + 8  # running_mean, running_var, num_batches_tracked
    assert "Buffers size (MB)" in str(s)


def test_without_an_input_the_rows_are_the_tree():
    """As torchinfo without input_size: every module of the tree with its own parameters."""
    s = nn.summary(encoder())
    assert s.rows[1].path == "layers" and s.rows[1].label == "ModuleList"
    assert not s.forward_pass and all(r.output_shape is None for r in s.rows)
    assert sum(r.params for r in s.rows) == s.total_params == 17088
    assert "Output Shape" not in str(s) and "Input size" not in str(s)
    assert [r.path for r in nn.summary(encoder(), depth=1).rows] == ["", "layers"]


# ----- inputs ------------------------------------------------------------------------------------


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 5), nn.Linear(4, 5)

    def forward(self, x, y, scale=1.0):
        return self.a(x) * scale + self.b(y)


def test_several_inputs_as_shapes_data_or_keywords():
    model = TwoInputs()
    by_shape = nn.summary(model, [(2, 3), (2, 4)])
    assert by_shape.input_shapes == ((2, 3), (2, 4)) and by_shape.output_shape == (2, 5)
    data = (mg.randn(6, 3), np.zeros((6, 4)))  # a Tensor and an array
    assert nn.summary(model, input_data=data).output_shape == (6, 5)
    assert nn.summary(model, input_data={"x": mg.randn(1, 3), "y": mg.randn(1, 4)}).rows[1].output_shape == (1, 5)  # fmt: skip
    assert nn.summary(model, input_data=data, scale=2.0).output_shape == (6, 5)  # forward kwargs
    assert nn.summary(nn.Linear(3, 2), input_size=(7, 3)).output_shape == (7, 2)  # torchinfo's name


def test_made_inputs_take_the_models_dtype(float32_default):
    """A float32 model gets a float32 input (a float64 one would be refused by its layers)."""
    model = nn.Linear(3, 2, dtype=mg.float64)
    assert nn.summary(model, (1, 3)).output_shape == (1, 2)
    assert nn.summary(nn.Linear(3, 2), (1, 3)).input_bytes == 3 * 4


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(input_shape=(2, "3")), mg.ShapeError, r"input_shape=\(2, '3'\)"),
        (
            dict(input_shape=[(2, 3), (2, 4)], dtypes=[mg.int64]),
            mg.errors.OpError,
            r"1 dtypes for 2 input shapes",
        ),
        (dict(input_shape=(2, 3), input_data=mg.ones(2, 3)), mg.errors.OpError, "not both"),
        (dict(input_shape=(2, 3), input_size=(2, 3)), mg.errors.OpError, "give one of them"),
        (dict(input_shape=(2, 3), depth=-1), mg.errors.OpError, "depth must be an int >= 0"),
        (dict(input_shape=(2, 3), mode="test"), mg.errors.OpError, "'eval', 'train' or 'same'"),
    ],  # fmt: skip
)
def test_wrong_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.summary(TwoInputs(), **kwargs)


def test_only_a_module():
    with pytest.raises(mg.errors.DTypeError, match="model must be an nn.Module, got function"):
        nn.summary(lambda x: x, (2, 3))


# ----- display -----------------------------------------------------------------------------------


def test_html_for_jupyter_and_repr():
    s = nn.summary(Tied(), (3,), dtypes=mg.int64)
    page = s._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == 1 + len(s.rows)
    assert "embed: Embedding(10, 4)" in page and "Total params: 70" in page
    assert "&lt;" not in page and "<script" not in page
    assert repr(s) == str(s)

    class Odd(nn.Identity):
        def extra_repr(self):
            return "<b>"

    page = nn.summary(nn.Sequential(Odd()), (1, 2))._repr_html_()
    assert "0: Odd(&lt;b&gt;)" in page and "<b>" not in page
