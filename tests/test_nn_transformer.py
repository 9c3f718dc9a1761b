"""Transformer layers against PyTorch's values (PyTorch 2.13, weights loaded from the state dict
PyTorch's layer held, numbers written in), PyTorch's state-dict keys, independent deep copies,
masks and causality, and gradients through a whole layer (``check_module``)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import OpError, ShapeError

rng = np.random.default_rng(0)


def wave(shape, offset=0.0, scale=1.0):
    """``scale * sin(0.7 k + offset)``, k = 0, 1, ...: the inputs and weights PyTorch got."""
    n = int(np.prod(shape))
    return (scale * np.sin(0.7 * np.arange(n) + offset)).reshape(shape)


def load(module):
    """The state dict of the PyTorch layer that computed the reference values."""
    state = {name: wave(p.shape, i, 0.5) for i, (name, p) in enumerate(module.state_dict().items())}
    module.load_state_dict(state)
    return module


X = wave((2, 3, 4), 0.2)  # (N, S, E), batch first
PADDING = np.array([[False, False, True], [False, False, False]])  # True: padding
CAUSAL = nn.Transformer.generate_square_subsequent_mask(3)

ENC_POST = [[[-0.5340719, -1.02611265, 0.59355568, 0.254913],
             [-0.90252895, -0.38016923, 0.53224865, 0.28582478],
             [-0.8654317, -0.33334512, 0.58921948, 0.20528953]],
            [[-0.90730928, -0.31901724, 0.52326453, 0.26542673],
             [-0.90384326, -0.31141358, 0.52947806, 0.25594896],
             [-0.8848393, -0.38520167, 0.56694318, 0.2566]]]  # fmt: skip
ENC_PRE = [[[0.93484807, 0.93439519, 0.98185359, 0.06937589],
            [0.84060589, -0.19638291, -1.13297437, -1.59556161],
            [0.2916354, 0.35931373, 0.73157956, 0.40852735]],
           [[1.38313937, 0.50168853, -0.76124722, -1.59360926],
            [-0.14929414, -0.30546966, 0.17757944, 0.18552239],
            [1.67948626, 1.04199222, -0.05047951, -1.22745088]]]  # fmt: skip
DEC = [[[-0.33231932, -1.06286226, 0.19033171, -0.01332286],
        [-0.3024581, -1.07512791, 0.0184752, 0.04394809],
        [-0.25841702, -0.81439326, -0.10625955, -0.18686247]],
       [[-0.29469653, -1.02498046, 0.042799, -0.03192696],
        [-0.31635309, -0.19910018, -0.34422495, -0.38719126],
        [-0.30655005, -1.03738754, 0.09715761, -0.03108753]]]  # fmt: skip
LAYER_KEYS = [
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
    "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
    "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
]  # fmt: skip


@pytest.mark.parametrize(
    "norm_first, activation, expected",
    [(False, "relu", ENC_POST), (True, "gelu", ENC_PRE)],
    ids=["post-norm relu", "pre-norm gelu"],
)
def test_encoder_layer_matches_pytorch(norm_first, activation, expected):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation=activation,
                                       norm_first=norm_first, batch_first=True)  # fmt: skip
    assert list(layer.state_dict()) == LAYER_KEYS
    load(layer)
    out = layer(mg.tensor(X), src_mask=CAUSAL, src_key_padding_mask=PADDING)
    np.testing.assert_allclose(out.data, expected, rtol=1e-7, atol=1e-8)


def test_decoder_layer_matches_pytorch():
    layer = load(nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True))
    assert list(layer.state_dict()) == (
        LAYER_KEYS[:4] + [k.replace("self_attn", "multihead_attn") for k in LAYER_KEYS[:4]]
        + LAYER_KEYS[4:] + ["norm3.weight", "norm3.bias"]
    )  # fmt: skip
    memory = wave((2, 5, 4), 1.1)
    memory_padding = np.array([[False, False, False, True, True], [False] * 5])
    out = layer(X, memory, tgt_mask=CAUSAL, memory_key_padding_mask=memory_padding)
    np.testing.assert_allclose(out.data, DEC, rtol=1e-7, atol=1e-8)


def test_stacks_have_pytorchs_keys_and_independent_copies():
    layer = nn.TransformerEncoderLayer(4, 2, 6)
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4))
    keys = [f"layers.{i}.{k}" for i in range(2) for k in LAYER_KEYS] + ["norm.weight", "norm.bias"]
    assert list(encoder.state_dict()) == keys
    first, second = encoder.layers
    assert first is not layer and first.self_attn is not second.self_attn
    np.testing.assert_array_equal(first.linear1.weight.data, layer.linear1.weight.data)
    with mg.no_grad():
        first.linear1.weight.add_(1.0)
    np.testing.assert_array_equal(second.linear1.weight.data, layer.linear1.weight.data)
    transformer = nn.Transformer(4, 2, 1, 1, 6)
    state = list(transformer.state_dict())
    assert len(state) == 34 and state[:2] == ["encoder.layers.0.self_attn.in_proj_weight",
                                              "encoder.layers.0.self_attn.in_proj_bias"]  # fmt: skip
    assert state[12:16] == ["encoder.norm.weight", "encoder.norm.bias",
                            "decoder.layers.0.self_attn.in_proj_weight",
                            "decoder.layers.0.self_attn.in_proj_bias"]  # fmt: skip
    assert state[-2:] == ["decoder.norm.weight", "decoder.norm.bias"]


def test_a_stack_is_its_layers_in_turn():
    layer = load(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True))
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4))
    with mg.no_grad():
        encoder.layers[1].linear2.bias.add_(0.3)
        encoder.norm.weight.mul_(2.0)
    x = mg.tensor(X)
    by_hand = encoder.norm(encoder.layers[1](encoder.layers[0](x, src_mask=CAUSAL),
                                             src_mask=CAUSAL))  # fmt: skip
    np.testing.assert_array_equal(encoder(x, mask=CAUSAL).data, by_hand.data)


def test_transformer_output_shape_and_mask():
    transformer = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, batch_first=True)
    src, tgt = rng.standard_normal((3, 5, 8)), rng.standard_normal((3, 4, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    out = transformer(mg.tensor(src), mg.tensor(tgt), tgt_mask=mask)
    assert out.shape == (3, 4, 8)
    later = tgt.copy()
    later[:, 2:] += 1.0  # later target tokens do not change the earlier outputs
    moved = transformer(mg.tensor(src), mg.tensor(later), tgt_mask=mask)
    np.testing.assert_allclose(moved.data[:, :2], out.data[:, :2], rtol=1e-12, atol=1e-13)
    assert not np.allclose(moved.data[:, 2:], out.data[:, 2:])
    with pytest.raises(ShapeError, match="Transformer: the batch number of src"):
        transformer(src, tgt[:2])
    with pytest.raises(ShapeError, match="feature number of src .* must be equal to d_model=8"):
        transformer(src[..., :4], tgt[..., :4])


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    assert mask.dtype == mg.get_default_dtype()
    np.testing.assert_array_equal(mask.data, [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=mg.float32).dtype == np.float32


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_mask_keeps_the_past_from_the_future(norm_first):
    layer = nn.TransformerEncoderLayer(8, 4, 16, dropout=0.0, norm_first=norm_first)
    x = rng.standard_normal((6, 2, 8))  # (S, N, E)
    mask = nn.Transformer.generate_square_subsequent_mask(6)
    out = layer(x, src_mask=mask, is_causal=True)
    bool_mask = np.triu(np.ones((6, 6), bool), 1)  # True masks out
    np.testing.assert_allclose(layer(x, src_mask=bool_mask).data, out.data, rtol=1e-13, atol=1e-14)
    changed = x.copy()
    changed[4:] = 0.0
    np.testing.assert_allclose(layer(changed, src_mask=mask).data[:4], out.data[:4],
                               rtol=1e-12, atol=1e-13)  # fmt: skip
    with pytest.raises(OpError, match="Need attn_mask if specifying the is_causal hint"):
        layer(x, is_causal=True)


def test_padding_does_not_reach_the_other_tokens():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = rng.standard_normal((2, 5, 8))
    padding = np.array([[False] * 3 + [True] * 2, [False] * 5])
    out = layer(x, src_key_padding_mask=padding)
    moved = x.copy()
    moved[0, 3:] = 10.0
    np.testing.assert_allclose(layer(moved, src_key_padding_mask=padding).data[0, :3],
                               out.data[0, :3], rtol=1e-12, atol=1e-13)  # fmt: skip


def test_activation_argument():
    layer = nn.TransformerEncoderLayer(4, 2, 6, activation=nn.SiLU())
    assert isinstance(layer.activation, nn.SiLU) and "(activation): SiLU()" in repr(layer)
    with pytest.raises(OpError, match="TransformerEncoderLayer: activation should be relu/gelu, "
                       "not tanh"):  # fmt: skip
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(ShapeError, match="embed_dim 4 is not divisible by num_heads 3"):
        nn.TransformerEncoderLayer(4, 3)
    with pytest.raises(ShapeError, match=r"TransformerEncoderLayer\(d_model=4\): src of shape "
                       r"\(2, 3, 5\)"):  # fmt: skip
        nn.TransformerEncoderLayer(4, 2)(rng.standard_normal((2, 3, 5)))


def test_encoder_layer_gradients_pass_check_module():
    """Every parameter of a layer with dropout, padding and a causal mask, against central
    differences (check_module replays the dropout masks)."""
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.1, activation="gelu",
                                       batch_first=True, norm_first=True)  # fmt: skip
    x = rng.standard_normal((2, 4, 8))
    target = rng.standard_normal((2, 4, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    padding = np.array([[False] * 3 + [True], [False] * 4])

    def loss(out, target):
        return ((out - target) ** 2).mean()

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            return self.layer(x, src_mask=mask, src_key_padding_mask=padding)

    assert nn.check_module(Masked(), loss, x, target, n_coords=5)


def test_hessian_vector_product_through_an_encoder_layer():
    """Forward-over-reverse through attention, LayerNorm and the tanh GELU (their primitives'
    rules in both modes) against central differences of the gradient."""
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=nn.GELU("tanh"),
                                       batch_first=True, norm_first=True)  # fmt: skip
    mask = nn.Transformer.generate_square_subsequent_mask(3)

    def loss(x):
        return (layer(x, src_mask=mask) ** 2).sum()

    assert mg.check_hvp(loss, rng.standard_normal((2, 3, 8)), directions=3)
