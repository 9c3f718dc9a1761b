"""The demo's loss and accuracy curves: every accuracy is on the plot (the CNN's first epoch at
0.16 fell below the fixed ylim=(0.8, 1.0) of the old plot)."""

import numpy as np
import pytest

from minigrad import demo

# The accuracies of the demo's CNN, whose first epoch was cut off by ylim=(0.8, 1.0).
CNN = {
    "loss": [1.99, 1.10, 0.21, 0.16, 0.07, 0.05],
    "train_acc": [0.17, 0.89, 0.82, 0.97, 0.99, 1.0],
    "test_acc": [0.16, 0.88, 0.80, 0.96, 0.98, 0.987],
}
MLP = {
    "loss": [1.80, 0.63, 0.31, 0.21, 0.16, 0.13, 0.12, 0.10],
    "train_acc": [0.82, 0.90, 0.93, 0.95, 0.96, 0.97, 0.97, 0.98],
    "test_acc": [0.83, 0.88, 0.91, 0.94, 0.95, 0.95, 0.95, 0.96],
}


@pytest.fixture
def figures(monkeypatch):
    """The figures save_curves makes, kept for the test to read when it closes them."""
    plt = pytest.importorskip("matplotlib.pyplot")
    made, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig: (made.append(fig), close(fig)))
    return made


def test_the_limits_hold_every_value_with_a_margin():
    low, high = demo.axis_limits([0.16, 0.88, 0.99, 1.0])
    assert low < 0.16 and high > 1.0  # strictly: no point on an edge either
    assert low == pytest.approx(0.16 - 0.05 * 0.84) and high == pytest.approx(1.0 + 0.05 * 0.84)
    assert demo.axis_limits([0.9, 0.9]) == pytest.approx((0.89, 0.91))  # a flat curve
    assert demo.axis_limits([0.95, 0.96, 0.97]) == pytest.approx((0.94, 0.98))  # 0.01 at least


def test_the_plotted_accuracy_axis_shows_the_first_epoch(tmp_path, figures):
    """save_curves with a fake history: its accuracy axis includes 0.16, and the inset that
    shows the second half of training holds the last epochs' values on their own scale."""
    path = demo.save_curves({"mlp": MLP, "cnn": CNN}, str(tmp_path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    _, accuracy = fig.axes[:2]
    low, high = accuracy.get_ylim()
    values = [a for h in (MLP, CNN) for a in (*h["train_acc"], *h["test_acc"])]
    assert low < min(values) == 0.16 and high > max(values)
    (inset,) = accuracy.child_axes
    inset_low, inset_high = inset.get_ylim()
    late = [
        *CNN["test_acc"][3:],
        *CNN["train_acc"][3:],
        *MLP["test_acc"][4:],
        *MLP["train_acc"][4:],
    ]
    assert inset_low < min(late) and inset_high > max(late) and inset_low > 0.9
    legend = [t.get_text() for t in accuracy.get_legend().get_texts()]
    assert "CNN test (final 0.987)" in legend


def test_one_epoch_is_a_dot_and_has_no_inset(tmp_path, figures):
    one = {key: values[:1] for key, values in MLP.items()}
    demo.save_curves({"mlp": one}, str(tmp_path))
    (fig,) = figures
    accuracy = fig.axes[1]
    assert not accuracy.child_axes
    assert all(line.get_marker() == "o" for line in accuracy.get_lines())
    assert np.allclose(accuracy.get_xticks(), [1])
