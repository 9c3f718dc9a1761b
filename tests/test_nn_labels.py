"""``nn.labels.layer_label``: the short names that drawings and summaries give layers, each checked
against the exact string a reader sees."""

import pytest

from minigrad import nn
from minigrad.nn.labels import LONGEST, layer_label

LABELS = [
    (lambda: nn.Linear(784, 128), "Linear(784→128)"),
    (lambda: nn.Linear(3, 2, bias=False), "Linear(3→2)"),
    (lambda: nn.Conv2d(1, 16, 3, padding=1), "Conv2d(1→16, 3×3)"),  # padding changes no size
    (lambda: nn.Conv2d(3, 8, (3, 5)), "Conv2d(3→8, 3×5)"),
    (lambda: nn.Conv2d(16, 32, 3, stride=2, groups=4), "Conv2d(16→32, 3×3, stride 2, groups 4)"),
    (lambda: nn.Conv1d(4, 8, 5), "Conv1d(4→8, 5)"),
    (lambda: nn.Conv1d(4, 8, 3, dilation=2), "Conv1d(4→8, 3, dilation 2)"),
    (lambda: nn.ConvTranspose2d(16, 1, 3), "ConvTranspose2d(16→1, 3×3)"),
    (lambda: nn.ConvTranspose2d(16, 8, 4, stride=2), "ConvTranspose2d(16→8, 4×4, stride 2)"),
    (lambda: nn.ConvTranspose1d(8, 4, 3, stride=2), "ConvTranspose1d(8→4, 3, stride 2)"),
    (lambda: nn.RNN(4, 8), "RNN(4→8)"),
    (lambda: nn.RNN(4, 8, nonlinearity="relu"), "RNN(4→8, relu)"),
    (lambda: nn.LSTM(32, 64, num_layers=2), "LSTM(32→64, 2 layers)"),
    (lambda: nn.LSTM(32, 64, 2, bidirectional=True), "LSTM(32→64, 2 layers, bidirectional)"),
    (lambda: nn.LSTM(4, 8, proj_size=2), "LSTM(4→8, proj 2)"),
    (lambda: nn.GRU(3, 5, bidirectional=True), "GRU(3→5, bidirectional)"),
    (lambda: nn.LSTMCell(8, 16), "LSTMCell(8→16)"),
    (lambda: nn.GRUCell(3, 4), "GRUCell(3→4)"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="relu"), "RNNCell(3→4, relu)"),
    (lambda: nn.Embedding(100, 32), "Embedding(100, 32)"),
    (lambda: nn.MultiheadAttention(32, 4), "MultiheadAttention(32, 4 heads)"),
    (lambda: nn.TransformerEncoderLayer(32, 4), "TransformerEncoderLayer(32, 4 heads)"),
    (lambda: nn.TransformerDecoderLayer(32, 4), "TransformerDecoderLayer(32, 4 heads)"),
    (
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4), 2),
        "TransformerEncoder(2 layers)",
    ),
    (lambda: nn.Transformer(32, 4, 1, 1, 64), "Transformer(32, 4 heads)"),
    (lambda: nn.BatchNorm1d(8), "BatchNorm1d(8)"),
    (lambda: nn.BatchNorm2d(16), "BatchNorm2d(16)"),
    (lambda: nn.LayerNorm(32), "LayerNorm(32)"),
    (lambda: nn.LayerNorm((8, 8)), "LayerNorm(8, 8)"),
    (lambda: nn.GroupNorm(4, 16), "GroupNorm(16, 4 groups)"),
    (lambda: nn.InstanceNorm2d(16), "InstanceNorm2d(16)"),
    (lambda: nn.MaxPool2d(2), "MaxPool2d(2×2)"),
    (lambda: nn.MaxPool2d(3, 2), "MaxPool2d(3×3, stride 2)"),
    (lambda: nn.AvgPool2d(2), "AvgPool2d(2×2)"),
    (lambda: nn.MaxPool1d(2), "MaxPool1d(2)"),
    (lambda: nn.AvgPool1d(3), "AvgPool1d(3)"),
    (lambda: nn.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d(→1×1)"),
    (lambda: nn.AdaptiveAvgPool2d((None, 7)), "AdaptiveAvgPool2d(→·×7)"),
    (lambda: nn.AdaptiveMaxPool1d(4), "AdaptiveMaxPool1d(→4)"),
    (lambda: nn.Dropout(0.1), "Dropout(p=0.1)"),
    (lambda: nn.Dropout(), "Dropout(p=0.5)"),
    (lambda: nn.ReLU(), "ReLU"),
    (lambda: nn.ReLU(inplace=True), "ReLU"),  # inplace changes nothing a drawing shows
    (lambda: nn.Tanh(), "Tanh"),
    (lambda: nn.GELU(), "GELU"),
    (lambda: nn.GELU("tanh"), "GELU(approximate='tanh')"),
    (lambda: nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (lambda: nn.Softmax(dim=1), "Softmax(dim=1)"),
    (lambda: nn.Flatten(), "Flatten"),
    (lambda: nn.Flatten(0), "Flatten(0, -1)"),
    (lambda: nn.Unflatten(1, (2, 3)), "Unflatten(1, (2, 3))"),
    (lambda: nn.Upsample(scale_factor=2), "Upsample(×2, nearest)"),
    (lambda: nn.Upsample(size=(4, 5), mode="bilinear"), "Upsample(→4×5, bilinear)"),
    (lambda: nn.Sequential(nn.Linear(2, 2)), "Sequential"),
    (lambda: nn.ModuleList(), "ModuleList"),
    (lambda: nn.Identity(), "Identity"),
    (lambda: nn.CrossEntropyLoss(), "CrossEntropyLoss"),
]


@pytest.mark.parametrize("make, expected", LABELS, ids=[label for _, label in LABELS])
def test_label(make, expected):
    assert layer_label(make()) == expected


def test_every_label_fits():
    for make, _ in LABELS:
        assert len(layer_label(make())) <= LONGEST


class Block(nn.Module):
    """A user's module: its class name and its own extra_repr."""

    def __init__(self, text=""):
        super().__init__()
        self.text = text

    def extra_repr(self):
        return self.text

    def forward(self, x):
        return x


class ResBlock(nn.Module):
    """A user's block that holds the sizes a convolution holds is labelled like one."""

    def __init__(self):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = 64, 64, (3, 3)


def test_a_users_module_is_its_class_and_extra_repr():
    assert layer_label(Block()) == "Block"
    assert layer_label(Block("width=4")) == "Block(width=4)"
    assert layer_label(ResBlock()) == "ResBlock(64→64, 3×3)"


def test_a_long_label_drops_its_last_parts_first():
    """Parts give way to "…" from the end, commas inside brackets do not cut a part, and a
    label never passes LONGEST characters."""
    long = Block("first=1, shape=(1, 2, 3, 4), " + ", ".join(f"p{i}={i}" for i in range(20)))
    assert layer_label(long) == "Block(first=1, shape=(1, 2, 3, 4), …)"
    assert layer_label(nn.LSTM(1024, 1024, 12, bidirectional=True)) == (
        "LSTM(1024→1024, 12 layers, …)"
    )
    assert layer_label(Block("x" * 60)) == "Block(…)"
    very_long_name = type("A" * 50, (Block,), {})()
    assert layer_label(very_long_name) == "A" * (LONGEST - 1) + "…"
