"""Attention: ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention`` against PyTorch's
values (PyTorch 2.13, inputs and weights from ``wave``, numbers written in), the two opposite
boolean-mask conventions, padding, head averaging, layouts, and derivatives (reverse, forward,
second order, Hessian-vector products) against finite differences."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DTypeError, OpError, ShapeError
from minigrad.nn import functional as F

rng = np.random.default_rng(0)


def wave(shape, offset=0.0, scale=1.0):
    """Deterministic inputs that PyTorch got too: ``scale * sin(0.7 k + offset)``, k = 0, 1, ..."""
    n = int(np.prod(shape))
    return (scale * np.sin(0.7 * np.arange(n) + offset)).reshape(shape)


def close(got, expected, rtol=1e-7, atol=1e-8):
    np.testing.assert_allclose(getattr(got, "data", got), expected, rtol=rtol, atol=atol)


# ----- scaled_dot_product_attention: PyTorch's values -------------------------------------------

Q, K, V = wave((1, 2, 3, 2)), wave((1, 2, 4, 2), 1.0), wave((1, 2, 4, 3), 2.0)
# True: the query MAY attend to the key (scaled_dot_product_attention's convention)
SDPA_MASK = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])

SDPA_PLAIN = [[[[0.31964025, 0.09188701, -0.17908213], [0.35081695, 0.02732335, -0.30902085],
                [0.15305022, 0.06215997, -0.05796508]],
               [[-0.32653759, -0.52548482, -0.47728833], [-0.29090831, -0.40155568, -0.32334515],
                [-0.28589432, -0.12027673, 0.10190889]]]]  # fmt: skip
SDPA_BOOL = [[[[0.69923098, 0.45484334, -0.00346423], [-0.0830894, 0.57843976, 0.96791967],
               [0.15305022, 0.06215997, -0.05796508]],
              [[-0.34324671, -0.59724616, -0.5703514], [0.89479117, 0.39674057, -0.28790332],
               [-0.28589432, -0.12027673, 0.10190889]]]]  # fmt: skip
SDPA_FLOAT = [[[[0.1619821, 0.00522671, -0.15398689], [0.53526109, 0.15143669, -0.30361075],
                [0.12680418, 0.129873, 0.07186052]],
               [[-0.16832395, -0.381304, -0.41495082], [-0.42899742, -0.53020671, -0.3820515],
                [-0.11418689, 0.05872083, 0.20401123]]]]  # fmt: skip
SDPA_CAUSAL = [[[[0.90929743, 0.42737988, -0.2555411], [0.33437697, -0.04636226, -0.40529659],
                 [-0.05411303, -0.0346181, 0.00115827]],
                [[-0.82782647, -0.99455259, -0.69352508], [-0.50465349, -0.32120838, 0.01330604],
                 [-0.24988043, -0.06328256, 0.1530781]]]]  # fmt: skip
SDPA_SCALE = [[[[0.52900469, 0.16255268, -0.2803504], [0.69665131, 0.25374154, -0.30850685],
                [0.01951836, -0.01984025, -0.04986767]],
               [[-0.67091128, -0.85797032, -0.64151251], [-0.48226725, -0.65560251, -0.52059766],
                [-0.33433709, 0.00374482, 0.34006549]]]]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, expected",
    [({}, SDPA_PLAIN), ({"attn_mask": SDPA_MASK}, SDPA_BOOL),
     ({"attn_mask": wave((3, 4), 0.5)}, SDPA_FLOAT), ({"is_causal": True}, SDPA_CAUSAL),
     ({"scale": 2.0}, SDPA_SCALE)],
    ids=["plain", "bool mask", "float mask", "causal", "scale"],
)  # fmt: skip
def test_sdpa_matches_pytorch(kwargs, expected):
    out = F.scaled_dot_product_attention(mg.tensor(Q), mg.tensor(K), mg.tensor(V), **kwargs)
    assert out.shape == (1, 2, 3, 3)
    close(out, expected)


def test_sdpa_bool_mask_true_means_may_attend():
    """A bool mask equals the float mask with -inf where it is False (and 0 where True)."""
    float_mask = np.where(SDPA_MASK, 0.0, -np.inf)
    as_bool = F.scaled_dot_product_attention(Q, K, V, attn_mask=SDPA_MASK)
    as_float = F.scaled_dot_product_attention(Q, K, V, attn_mask=float_mask)
    np.testing.assert_array_equal(as_bool.data, as_float.data)
    # the query 1 may attend to key 2 only: its output is value row 2 exactly
    np.testing.assert_allclose(as_bool.data[0, :, 1], V[0, :, 2], rtol=1e-15)


@pytest.mark.parametrize("L, S", [(4, 4), (3, 5), (5, 3)])
def test_causal_equals_an_explicit_tril_mask(L, S):
    """is_causal is the mask tril(ones(L, S)) (top-left aligned when L != S)."""
    q, k, v = (
        rng.standard_normal((2, L, 3)),
        rng.standard_normal((2, S, 3)),
        rng.standard_normal((2, S, 4)),
    )
    causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    tril = np.tril(np.ones((L, S), dtype=bool))
    close(causal, F.scaled_dot_product_attention(q, k, v, attn_mask=tril).data, rtol=1e-15, atol=0)
    # query i does not see keys after i: changing them changes nothing
    k2, v2 = k.copy(), v.copy()
    k2[:, 1:], v2[:, 1:] = 5.0, -3.0
    np.testing.assert_array_equal(
        causal.data[:, 0], F.scaled_dot_product_attention(q, k2, v2, is_causal=True).data[:, 0]
    )


def test_a_query_that_sees_no_key_gets_zeros():
    """PyTorch 2.x's safe softmax: output 0 (not nan) and gradient 0 for a fully masked row."""
    q = mg.tensor(Q, requires_grad=True)
    mask = SDPA_MASK.copy()
    mask[1] = False
    out = F.scaled_dot_product_attention(q, K, V, attn_mask=mask)
    np.testing.assert_array_equal(out.data[0, :, 1], 0.0)
    close(out.data[0, :, [0, 2]], np.asarray(SDPA_BOOL)[0, :, [0, 2]])
    out.sum().backward()
    np.testing.assert_array_equal(q.grad.data[0, :, 1], 0.0)
    assert np.isfinite(q.grad.data).all()


def test_gqa_repeats_the_key_value_heads():
    q = rng.standard_normal((2, 4, 3, 5))
    k, v = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((2, 2, 6, 3))
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    repeat = F.scaled_dot_product_attention(q, k.repeat(2, axis=1), v.repeat(2, axis=1))
    np.testing.assert_array_equal(out.data, repeat.data)


def test_dropout_on_the_attention_weights():
    """Dropout zeroes attention weights and scales the rest by 1/(1 - p): with value = the
    identity the output is the weights themselves. Same generator state, same draw."""
    q, k = rng.standard_normal((6, 5, 4)), rng.standard_normal((6, 5, 4))
    v = np.broadcast_to(np.eye(5), (6, 5, 5))
    weights = F.scaled_dot_product_attention(q, k, v).data
    one = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4, generator=mg.Generator(3)).data
    two = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4, generator=mg.Generator(3)).data
    np.testing.assert_array_equal(one, two)
    kept = one != 0
    assert 0.4 < kept.mean() < 0.8
    np.testing.assert_allclose(one[kept], weights[kept] / 0.6, rtol=1e-14)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).data.any()


def test_sdpa_derivatives_against_finite_differences():
    """Reverse mode (first and second order) and forward mode, through q, k, v and a learned
    float mask."""
    mask = np.array([[True, True, False, True], [True, False, True, True], [False] + [True] * 3])

    def f(q, k, v, bias):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias + np.where(mask, 0, -np.inf))

    inputs = (Q, K, V, wave((3, 4), 0.5, 0.3))
    assert mg.gradcheck(f, *inputs)
    assert mg.gradgradcheck(f, *inputs)
    assert mg.check_grads(lambda q, k: F.scaled_dot_product_attention(q, k, V, is_causal=True),
                          Q, K, modes=("fwd", "rev"), order=2)  # fmt: skip


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [((Q, K, V[..., :3, :]), {}, ShapeError, "same sequence length S"),
     ((Q, K[..., :1], V), {}, ShapeError, "same last dim E"),
     ((Q, K, V), {"attn_mask": np.ones((3, 5), bool)}, ShapeError,
      r"attn_mask of shape \(3, 5\) does not broadcast to the attention scores' shape "
      r"\(1, 2, 3, 4\)"),
     ((Q, K, V), {"attn_mask": np.ones((3, 4), int)}, DTypeError,
      "only bool and floating types of attn_mask"),
     ((Q, K, V), {"attn_mask": SDPA_MASK, "is_causal": True}, OpError,
      "attn_mask should not be set when is_causal=True"),
     ((Q, K.astype(np.float32), V), {}, DTypeError, "same dtype"),
     ((Q, K, V), {"dropout_p": 1.5}, OpError, "between 0 and 1")],
    ids=["value length", "key features", "mask shape", "int mask", "causal and mask", "dtype",
         "dropout"],
)  # fmt: skip
def test_sdpa_errors_name_the_function_and_shapes(args, kwargs, error, message):
    with pytest.raises(error, match="scaled_dot_product_attention: .*" + message):
        F.scaled_dot_product_attention(*[mg.tensor(a) for a in args], **kwargs)


# ----- MultiheadAttention: PyTorch's values, from PyTorch's state dict -----------------------------


def pytorch_state(module):
    """The state dict PyTorch's layer held when the reference values were computed: each entry
    ``wave(shape, i, 0.5)`` in PyTorch's key order (checked against the module's)."""
    return {name: wave(p.shape, i, 0.5) for i, (name, p) in enumerate(module.state_dict().items())}


def pytorch_mha(**kwargs):
    module = nn.MultiheadAttention(4, 2, **kwargs)
    module.load_state_dict(pytorch_state(module))
    return module


X, Y = wave((3, 2, 4), 0.3), wave((5, 2, 4), 1.3)  # (L, N, E), (S, N, E)
# True: the key is masked OUT (MultiheadAttention's convention, the opposite of SDPA's)
PADDING = np.array([[False, False, True], [False, True, True]])
CAUSAL = np.array([[False, True, True], [False, False, True], [False, False, False]])

MHA_SELF = [[[-0.25611938, -0.16172744, -0.34357868, -0.81526368],
             [0.22192092, -0.57753292, -0.03805657, -0.97519773]],
            [[-0.26177096, -0.16327544, -0.33500999, -0.8298629],
             [0.23136362, -0.57798728, -0.04664305, -0.95856261]],
            [[-0.29228094, -0.13888033, -0.35047124, -0.82512215],
             [0.27178232, -0.61225194, -0.02249188, -0.96980949]]]  # fmt: skip
MHA_SELF_W = [[[0.16428101, 0.303275, 0.53244399], [0.12647671, 0.27602956, 0.59749372],
               [0.1629388, 0.28510574, 0.55195546]],
              [[0.16178993, 0.31255015, 0.52565993], [0.14966242, 0.30346917, 0.54686841],
               [0.21672812, 0.3158162, 0.46745567]]]  # fmt: skip
MHA_SELF_WH = [[[[0.14178247, 0.31035964, 0.54785789], [0.13972473, 0.30779843, 0.55247684],
                 [0.21836442, 0.33257592, 0.44905966]],
                [[0.18677955, 0.29619036, 0.51703008], [0.11322869, 0.2442607, 0.64251061],
                 [0.10751318, 0.23763556, 0.65485126]]],
               [[[0.12618868, 0.31450539, 0.55930593], [0.15439096, 0.32217562, 0.52343342],
                 [0.25581503, 0.33160047, 0.4125845]],
                [[0.19739117, 0.3105949, 0.49201393], [0.14493389, 0.28476271, 0.5703034],
                 [0.17764122, 0.30003194, 0.52232684]]]]  # fmt: skip
MHA_CROSS = [[[-0.15348058, -0.25786964, -0.26504283, -0.86711795],
              [0.12971677, -0.49642478, -0.09869622, -0.9420338]],
             [[-0.16892765, -0.25485698, -0.25527294, -0.88854143],
              [0.15014768, -0.5018979, -0.10881333, -0.91749555]],
             [[-0.22075393, -0.21099851, -0.28609554, -0.87431642],
              [0.22545721, -0.56900176, -0.05766935, -0.94676968]]]  # fmt: skip
MHA_CROSS_W = [[[0.07348524, 0.08592028, 0.14673769, 0.27609653, 0.41776026],
                [0.05038061, 0.06099287, 0.11987073, 0.26832875, 0.50042703],
                [0.07485985, 0.08639534, 0.13632262, 0.24943901, 0.45298319]],
               [[0.06447356, 0.08416631, 0.15490678, 0.29317658, 0.40327677],
                [0.05546898, 0.0758455, 0.14622764, 0.28817617, 0.43428171],
                [0.11023295, 0.12242657, 0.16777988, 0.25145519, 0.34810541]]]  # fmt: skip
MHA_PADDING = [[[-0.36694987, -0.04986331, -0.44354997, -0.73873746],
                [0.47067006, -0.82089619, 0.17179891, -1.1272955]],
               [[-0.37410787, -0.04420562, -0.44705356, -0.73779281],
                [0.47067006, -0.82089619, 0.17179891, -1.1272955]],
               [[-0.38525359, -0.03362593, -0.45584468, -0.73180614],
                [0.47067006, -0.82089619, 0.17179891, -1.1272955]]]  # fmt: skip
MHA_PADDING_W = [[[0.35015534, 0.64984466, 0.0], [0.31447545, 0.68552455, 0.0],
                  [0.35392334, 0.64607666, 0.0]],
                 [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]  # fmt: skip
MHA_CAUSAL = [[[-0.38919998, -0.01810273, -0.48115091, -0.69964114],
               [0.47067006, -0.82089619, 0.17179891, -1.1272955]],
              [[-0.37410787, -0.04420562, -0.44705356, -0.73779281],
               [0.39009811, -0.73560844, 0.09165082, -1.0615486]],
              [[-0.29228094, -0.13888033, -0.35047124, -0.82512215],
               [0.27178232, -0.61225194, -0.02249188, -0.96980949]]]  # fmt: skip
MHA_CAUSAL_W = [[[1.0, 0.0, 0.0], [0.31447545, 0.68552455, 0.0],
                 [0.1629388, 0.28510574, 0.55195546]],
                [[1.0, 0.0, 0.0], [0.33062934, 0.66937066, 0.0],
                 [0.21672812, 0.3158162, 0.46745567]]]  # fmt: skip
MHA_FLOAT_3D = [[[-0.26548898, -0.15254906, -0.35150525, -0.80950489],
                 [0.23600033, -0.59092864, -0.02689248, -0.98284012]],
                [[-0.30043259, -0.122959, -0.37232247, -0.79986605],
                 [0.29276234, -0.63876922, 0.00649843, -0.99792286]],
                [[-0.2436331, -0.18565003, -0.31098417, -0.85276365],
                 [0.19991964, -0.54375598, -0.07970605, -0.93048851]]]  # fmt: skip
MHA_KVDIM = [[[-0.65070258, -0.31516511, 0.30455804, -0.05980066],
              [-0.41623936, -0.38152175, 0.19514022, 0.2127478]],
             [[-0.65531146, -0.3146735, 0.30824051, -0.06723168],
              [-0.41651768, -0.38905954, 0.20962311, 0.19299341]],
             [[-0.64935585, -0.3245111, 0.3208233, -0.08110565],
              [-0.40447109, -0.41691217, 0.25006326, 0.14463881]]]  # fmt: skip


def test_parameters_have_pytorchs_names_shapes_and_init():
    m = nn.MultiheadAttention(6, 3)
    assert [(k, v.shape) for k, v in m.state_dict().items()] == [
        ("in_proj_weight", (18, 6)), ("in_proj_bias", (18,)), ("out_proj.weight", (6, 6)),
        ("out_proj.bias", (6,)),
    ]  # fmt: skip
    assert m.in_proj_weight.dtype == np.float64  # the tests' default dtype
    bound = np.sqrt(6 / (6 + 18))  # Xavier-uniform over the stacked (3E, E) matrix
    assert np.abs(m.in_proj_weight.data).max() <= bound
    assert np.abs(m.in_proj_weight.data).max() > 0.8 * bound
    assert not m.in_proj_bias.data.any() and not m.out_proj.bias.data.any()
    separate = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False)
    assert [(k, v.shape) for k, v in separate.state_dict().items()] == [
        ("q_proj_weight", (4, 4)), ("k_proj_weight", (4, 3)), ("v_proj_weight", (4, 5)),
        ("out_proj.weight", (4, 4)),
    ]  # fmt: skip
    assert separate.in_proj_weight is None and separate.in_proj_bias is None


@pytest.mark.parametrize(
    "kwargs, expected, expected_weights",
    [({}, MHA_SELF, MHA_SELF_W),
     ({"average_attn_weights": False}, MHA_SELF, MHA_SELF_WH),
     ({"key_padding_mask": PADDING}, MHA_PADDING, MHA_PADDING_W),
     ({"attn_mask": CAUSAL}, MHA_CAUSAL, MHA_CAUSAL_W),
     ({"attn_mask": wave((4, 3, 3), 0.9)}, MHA_FLOAT_3D, None)],
    ids=["self", "per head", "key padding", "bool attn_mask", "float attn_mask (N*H, L, S)"],
)  # fmt: skip
def test_self_attention_matches_pytorch(kwargs, expected, expected_weights):
    m = pytorch_mha()
    x = mg.tensor(X)
    out, weights = m(x, x, x, **kwargs)
    close(out, expected)
    if expected_weights is not None:
        close(weights, expected_weights)


def test_cross_attention_and_separate_key_value_sizes_match_pytorch():
    m = pytorch_mha()
    out, weights = m(X, Y, Y)
    close(out, MHA_CROSS)
    close(weights, MHA_CROSS_W)
    assert weights.shape == (2, 3, 5)  # (N, L, S)
    separate = pytorch_mha(kdim=3, vdim=5)
    close(separate(X, wave((5, 2, 3), 0.1), wave((5, 2, 5), 0.2))[0], MHA_KVDIM)


def test_batch_first_and_unbatched_inputs_give_the_same_values():
    m, first = pytorch_mha(), pytorch_mha(batch_first=True)
    out, weights = first(X.transpose(1, 0, 2), Y.transpose(1, 0, 2), Y.transpose(1, 0, 2))
    close(out, np.asarray(MHA_CROSS).transpose(1, 0, 2))
    close(weights, MHA_CROSS_W)
    out, weights = m(X[:, 1], X[:, 1], X[:, 1], key_padding_mask=PADDING[1])  # (L, E), (S,)
    assert out.shape == (3, 4) and weights.shape == (3, 3)
    close(out, np.asarray(MHA_PADDING)[:, 1])
    close(weights, MHA_PADDING_W[1])


def test_the_two_mask_conventions_are_opposite():
    """MultiheadAttention's bool mask masks out where True; scaled_dot_product_attention's
    lets attend where True. The layer equals SDPA on its own projections with ~mask."""
    m = pytorch_mha(batch_first=True)
    x = mg.tensor(X.transpose(1, 0, 2))  # (N, L, E)
    out, _ = m(x, x, x, attn_mask=CAUSAL, need_weights=False)
    W, b = m.in_proj_weight.data, m.in_proj_bias.data
    q, k, v = ((x.data @ W[i * 4 : (i + 1) * 4].T + b[i * 4 : (i + 1) * 4])
               .reshape(2, 3, 2, 2).transpose(0, 2, 1, 3) for i in range(3))  # fmt: skip
    heads = F.scaled_dot_product_attention(q, k, v, attn_mask=~CAUSAL).data
    expected = heads.transpose(0, 2, 1, 3).reshape(2, 3, 4) @ m.out_proj.weight.data.T
    close(out, expected + m.out_proj.bias.data, rtol=1e-13, atol=1e-14)
    float_mask = np.where(CAUSAL, -np.inf, 0.0)
    np.testing.assert_array_equal(out.data, m(x, x, x, attn_mask=float_mask)[0].data)
    with pytest.raises(AssertionError):  # the SDPA convention on the layer: another result
        close(out, m(x, x, x, attn_mask=~CAUSAL)[0])


def test_padded_keys_get_no_weight_and_do_not_matter():
    m = pytorch_mha()
    moved = X.copy()
    moved[2, 0], moved[1:, 1] = 9.0, -7.0  # only the padded keys (and values) change
    _, weights = m(X, X, X, key_padding_mask=PADDING)
    np.testing.assert_array_equal(weights.data[PADDING[:, None, :].repeat(3, 1)], 0.0)
    out = m(X, X, X, key_padding_mask=PADDING)[0]
    out_moved = m(X, moved, moved, key_padding_mask=PADDING)[0]
    close(out_moved, out.data, rtol=1e-13, atol=1e-14)


def test_need_weights_averages_over_heads():
    m = pytorch_mha()
    _, per_head = m(X, Y, Y, average_attn_weights=False)
    out, averaged = m(X, Y, Y)
    assert per_head.shape == (2, 2, 3, 5)  # (N, num_heads, L, S)
    close(averaged, per_head.data.mean(axis=1), rtol=1e-15, atol=0)
    np.testing.assert_allclose(per_head.data.sum(axis=-1), 1.0, rtol=1e-14)
    no_weights = m(X, Y, Y, need_weights=False)
    assert no_weights[1] is None
    close(no_weights[0], out.data, rtol=1e-13, atol=1e-14)


def test_is_causal_is_a_hint_that_needs_the_mask():
    """As PyTorch: is_causal needs attn_mask, and then means the causal mask."""
    m = pytorch_mha()
    with pytest.raises(OpError, match=r"MultiheadAttention\(embed_dim=4, num_heads=2\): Need "
                       "attn_mask if specifying the is_causal hint"):  # fmt: skip
        m(X, X, X, is_causal=True)
    out, _ = m(X, X, X, attn_mask=CAUSAL, is_causal=True, need_weights=False)
    close(out, MHA_CAUSAL)


def test_fully_masked_queries_follow_pytorch():
    """A query whose keys are all masked: nan weights with need_weights=True (PyTorch's
    softmax of -inf), output = out_proj.bias with need_weights=False (its safe softmax)."""
    m = pytorch_mha()
    mask = CAUSAL.copy()
    mask[0, 0] = True
    out, weights = m(X, X, X, attn_mask=mask)
    assert np.isnan(weights.data[:, 0]).all() and np.isnan(out.data[0]).all()
    assert np.isfinite(out.data[1:]).all()
    out, _ = m(X, X, X, attn_mask=mask, need_weights=False)
    np.testing.assert_array_equal(out.data[0], np.broadcast_to(m.out_proj.bias.data, (2, 4)))
    close(out.data[1:], np.asarray(MHA_CAUSAL)[1:])


def test_dropout_only_in_training():
    m = pytorch_mha(dropout=0.5)
    m.eval()
    close(m(X, X, X)[0], MHA_SELF)
    m.train()
    mg.manual_seed(0)
    first = m(X, X, X)[0].data
    assert not np.allclose(first, MHA_SELF)
    mg.manual_seed(0)
    np.testing.assert_array_equal(m(X, X, X)[0].data, first)


@pytest.mark.parametrize(
    "call, error, message",
    [(lambda m: m(X, X, X, attn_mask=np.zeros((4, 3), bool)), ShapeError,
      r"attn_mask of shape \(4, 3\), expected \(L, S\) = \(3, 3\) or \(N \* num_heads, L, S\) "
      r"= \(4, 3, 3\)"),
     (lambda m: m(X, X, X, key_padding_mask=np.zeros((2, 4), bool)), ShapeError,
      r"key_padding_mask of shape \(2, 4\), expected \(N, S\) = \(2, 3\)"),
     (lambda m: m(X, X, X, key_padding_mask=np.zeros(3, bool)), ShapeError,
      r"key_padding_mask must be \(N, S\) for batched inputs, got a 1-D mask"),
     (lambda m: m(X[..., :3], X, X), ShapeError, r"query of shape \(3, 2, 3\) has 3 features"),
     (lambda m: m(X, Y[:, :1], Y[:, :1]), ShapeError,
      r"query \(3, 2, 4\), key \(5, 1, 4\) and value \(5, 1, 4\) do not fit"),
     (lambda m: m(X[0], X, X), ShapeError, "query, key and value must all be 3-D"),
     (lambda m: m(X, X, X, attn_mask=np.zeros((3, 3), np.int64)), DTypeError,
      "only bool and floating types of attn_mask")],
    ids=["attn_mask shape", "padding shape", "padding ndim", "features", "batch", "ndim",
         "int mask"],
)  # fmt: skip
def test_errors_name_the_layer_and_the_shapes(call, error, message):
    with pytest.raises(error, match=r"MultiheadAttention\(embed_dim=4, num_heads=2\): " + message):
        call(pytorch_mha())


def test_construction_errors():
    with pytest.raises(ShapeError, match="MultiheadAttention: embed_dim 10 is not divisible by "
                       "num_heads 4"):  # fmt: skip
        nn.MultiheadAttention(10, 4)
    for name in ("add_bias_kv", "add_zero_attn"):
        with pytest.raises(OpError, match=f"MultiheadAttention: {name}=True .* not supported"):
            nn.MultiheadAttention(4, 2, **{name: True})
    with pytest.raises(DTypeError, match=re.escape("MultiheadAttention(embed_dim=4, num_heads=2)"
                                                   ": the input is float64 and the weight float32")):  # fmt: skip
        x = mg.tensor(X)
        nn.MultiheadAttention(4, 2, dtype=np.float32)(x, x, x)


# ----- derivatives through the layer -------------------------------------------------------------


class LossOf(nn.Module):
    """A module whose output is ``loss(module, x)``, for check_module."""

    def __init__(self, module, loss):
        super().__init__()
        self.module, self.loss = module, loss

    def forward(self, x):
        return self.loss(self.module, x)


def test_parameter_gradients_pass_check_module():
    """Every parameter's gradient (through both outputs, masks and dropout) against central
    differences; check_module replays the same dropout masks."""
    target = rng.standard_normal((2, 3, 4))

    def loss(module, x):
        out, weights = module(x, x, x, key_padding_mask=PADDING[::-1], attn_mask=CAUSAL)
        return ((out - target) ** 2).mean() + (weights**2).sum()

    model = LossOf(pytorch_mha(dropout=0.2, batch_first=True), loss)
    assert nn.check_module(model, None, X.transpose(1, 0, 2), n_coords=6)


def test_hessian_vector_product_through_multihead_attention():
    """Forward-over-reverse through the layer (projections, softmax, masks) against central
    differences of the gradient, along random directions."""
    m = pytorch_mha()
    names = [name for name, _ in m.named_parameters()]
    shapes = [p.shape for p in m.parameters()]
    flat = np.concatenate([p.data.ravel() for p in m.parameters()])
    padding = np.array([[False, False, False, False, True], [False, False, True, True, True]])

    def loss(theta):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            size = int(np.prod(shape))
            params[name] = theta[start : start + size].reshape(shape)
            start += size
        out, weights = nn.functional_call(m, params, X, Y, Y, key_padding_mask=padding)
        return (out**2).sum() + (weights * weights).sum()

    assert mg.check_hvp(loss, flat, directions=3)
