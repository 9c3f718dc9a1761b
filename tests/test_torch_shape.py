"""PyTorch's shape and indexing semantics, with PyTorch's own values written in: the calls that
once silently computed numpy's answer, the examples of PyTorch's documentation, sizes, and the
errors (which name the operation and the shapes)."""

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

A36 = np.arange(18.0).reshape(3, 6)


def t(data, **kwargs):
    return mg.tensor(np.asarray(data, dtype=np.float64), **kwargs)


# ----- the calls that were silently different ----------------------------------------------------


def test_repeat_tiles_the_whole_tensor():
    """torch: a.repeat(2, 1) on (3, 6) is (6, 6), rows 0-2 then rows 0-2 again."""
    out = t(A36).repeat(2, 1)
    assert out.shape == (6, 6)
    np.testing.assert_array_equal(out.data, np.concatenate([A36, A36]))
    np.testing.assert_array_equal(t([1.0, 2.0]).repeat(2).data, [1.0, 2.0, 1.0, 2.0])
    assert t([1.0, 2.0]).repeat(3, 2).shape == (3, 4)


def test_repeat_interleave_repeats_each_element():
    x = mg.tensor(np.array([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(x.repeat_interleave(2).data, [1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(
        mg.repeat_interleave(x, mg.tensor(np.array([1, 2])), dim=0).data, [[1, 2], [3, 4], [3, 4]]
    )


def test_split_int_is_the_piece_size():
    """torch: a.split(2, 1) on (3, 6) is 3 pieces of width 2; a width-5 dim gives 2, 2, 1."""
    pieces = t(A36).split(2, 1)
    assert isinstance(pieces, tuple) and [p.shape for p in pieces] == [(3, 2)] * 3
    np.testing.assert_array_equal(pieces[1].data, A36[:, 2:4])
    assert [p.shape for p in mg.split(t(np.zeros((5, 2))), 2)] == [(2, 2), (2, 2), (1, 2)]
    assert [p.shape[0] for p in t(np.zeros(5)).split([1, 4])] == [1, 4]


def test_transpose_swaps_two_dims():
    """torch: a.transpose(0, 1) of (2, 3) is (3, 2), the matrix transpose."""
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(t(a).transpose(0, 1).data, a.T)
    np.testing.assert_array_equal(mg.transpose(t(a), 1, 0).data, a.T)
    b = np.arange(24.0).reshape(2, 3, 4)
    assert t(b).transpose(0, 2).shape == (4, 3, 2)
    np.testing.assert_array_equal(t(b).swapaxes(-1, 0).data, np.swapaxes(b, -1, 0))
    np.testing.assert_array_equal(t(b).swapdims(1, 2).data, np.swapaxes(b, 1, 2))


def test_transpose_with_a_permutation_points_to_permute():
    with pytest.raises(mg.ShapeError, match=r"transpose: .*permute\(2, 0, 1\)"):
        t(np.zeros((2, 3, 4))).transpose(2, 0, 1)
    with pytest.raises(mg.ShapeError, match=r"transpose: .*\(2, 3\)"):
        mg.transpose(t(np.zeros((2, 3))), (1, 0))


def test_t_T_mT():
    b = np.arange(24.0).reshape(2, 3, 4)
    assert t(b).T.shape == (4, 3, 2)
    assert t(b).mT.shape == (2, 4, 3)
    np.testing.assert_array_equal(t(b).mT.data, b.transpose(0, 2, 1))
    assert t(np.zeros((2, 5))).t().shape == (5, 2) and t(np.zeros(3)).t().shape == (3,)
    with pytest.raises(mg.ShapeError, match=r"t: .*\(2, 3, 4\)"):
        t(b).t()
    with pytest.raises(mg.ShapeError, match=r"mT: .*\(3,\)"):
        _ = t(np.zeros(3)).mT


# ----- sizes -------------------------------------------------------------------------------------


def test_size_numel_dim():
    x = t(np.zeros((2, 3, 4)))
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple) and isinstance(x.size(), mg.Size)
    assert x.size(0) == 2 and x.size(-1) == 4 and type(x.size(1)) is int
    assert x.size().numel() == 24 and x.numel() == 24 and x.nelement() == 24
    assert mg.numel(x) == 24
    assert x.dim() == 3 and x.ndim == 3 and x.shape == (2, 3, 4) and type(x.shape) is tuple
    assert repr(x.size()) == "minigrad.Size([2, 3, 4])" and x.size()[1:] == mg.Size((3, 4))
    assert x.contiguous() is x
    with pytest.raises(IndexError, match=r"size: dim 3 .*\(2, 3, 4\)"):
        x.size(3)
    with pytest.raises(mg.IndexingError, match="size: dim 0"):
        t(1.0).size(0)


def test_view_is_reshape():
    x = t(np.arange(6.0))
    assert x.view(2, 3).shape == (2, 3) and x.view((3, -1)).shape == (3, 2)
    assert x.view(x.size()).shape == (6,) and x.view(-1, 1).shape == (6, 1)
    assert x.view_as(t(np.zeros((3, 2)))).shape == (3, 2)
    assert x.reshape_as(t(np.zeros((1, 6)))).shape == (1, 6)
    assert x.view(2, 3).view(x.size(0)).shape == (6,)


def test_view_of_an_impossible_size():
    with pytest.raises(mg.ShapeError, match=r"view: shape \(4, 2\) is invalid .*\(6,\)"):
        t(np.zeros(6)).view(4, 2)
    with pytest.raises(mg.ShapeError, match=r"reshape: shape \(4, -1\) .*\(2, 3\)"):
        t(np.zeros((2, 3))).reshape(4, -1)
    with pytest.raises(mg.OpError, match="view: view\\(dtype\\)"):
        t(np.zeros(6)).view(np.float32)


# ----- adding and removing dims ------------------------------------------------------------------


def test_squeeze_a_dim_that_is_not_1_is_a_no_op():
    x = t(np.zeros((2, 1, 3)))
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze(1).shape == (2, 3)
    assert x.squeeze((0, 1)).shape == (2, 3)
    assert mg.squeeze(x, axis=-2).shape == (2, 3)  # numpy's keyword
    assert x.squeeze().shape == (2, 3)
    with pytest.raises(mg.ShapeError, match=r"squeeze: .*3.*\(2, 1, 3\)"):
        x.squeeze(3)


def test_unsqueeze():
    x = t(np.zeros((2, 3)))
    assert [x.unsqueeze(d).shape for d in (0, 1, 2, -1, -3)] == [
        (1, 2, 3), (2, 1, 3), (2, 3, 1), (2, 3, 1), (1, 2, 3)
    ]  # fmt: skip
    with pytest.raises(mg.ShapeError, match=r"unsqueeze: .*3.*\(2, 3\)"):
        x.unsqueeze(3)


def test_flatten_and_unflatten():
    x = t(np.zeros((2, 3, 4, 5)))
    assert x.flatten().shape == (120,) and x.flatten(1).shape == (2, 60)
    assert x.flatten(1, 2).shape == (2, 12, 5) and t(1.0).flatten().shape == (1,)
    assert x.flatten(1).unflatten(1, (3, -1, 5)).shape == (2, 3, 4, 5)
    with pytest.raises(mg.ShapeError, match=r"flatten: start_dim=2 .* end_dim=1"):
        x.flatten(2, 1)
    with pytest.raises(mg.ShapeError, match=r"unflatten: sizes \[5, -1\] .*12"):
        t(np.zeros((2, 12))).unflatten(1, (5, -1))


def test_expand_keeps_sizes_with_minus_one():
    x = t([[1.0], [2.0]])
    out = x.expand(-1, 3)
    np.testing.assert_array_equal(out.data, [[1, 1, 1], [2, 2, 2]])
    assert x.expand(4, -1, 3).shape == (4, 2, 3)
    assert x.expand_as(t(np.zeros((2, 5)))).shape == (2, 5)
    assert mg.broadcast_to(x, (-1, 2)).shape == (2, 2)
    x = t([[1.0], [2.0]], requires_grad=True)
    (x.expand(3, -1, 4) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[24.0], [24.0]])


def test_expand_errors():
    x = t(np.zeros((2, 3)))
    with pytest.raises(mg.ShapeError, match=r"expand: .*\(2, 3\) .*\(3, 3\)"):
        x.expand(3, 3)
    with pytest.raises(mg.ShapeError, match=r"expand: .*\(-1, 2, 3\)"):
        x.expand(-1, 2, 3)  # -1 in a new leading dim
    with pytest.raises(mg.ShapeError, match=r"expand: .*\(3,\)"):
        x.expand(3)


def test_permute_errors():
    with pytest.raises(mg.ShapeError, match=r"permute: dims \(0, 0\) .*\(2, 3\)"):
        t(np.zeros((2, 3))).permute(0, 0)
    with pytest.raises(mg.ShapeError, match=r"permute: dims \(0,\) .*\(2, 3\)"):
        t(np.zeros((2, 3))).permute(0)


# ----- joining and splitting ---------------------------------------------------------------------


def test_cat_and_stack():
    a, b = t(np.zeros((2, 3))), t(np.ones((2, 1)))
    assert mg.cat([a, b], dim=1).shape == (2, 4) and mg.cat([a, b], 1).shape == (2, 4)
    assert mg.concat([a, a]).shape == (4, 3) and mg.concatenate([a, b], axis=-1).shape == (2, 4)
    assert mg.stack([a, a], dim=2).shape == (2, 3, 2) and mg.stack([a, a], axis=0).shape == (
        2,
        2,
        3,
    )
    assert mg.hstack([t([1.0]), t([2.0, 3.0])]).shape == (3,)
    assert mg.vstack([t([1.0, 2.0]), t([3.0, 4.0])]).shape == (2, 2)
    with pytest.raises(mg.ShapeError, match=r"cat: .*\[\(2, 3\), \(2, 1\)\].*dim 0"):
        mg.cat([a, b])
    with pytest.raises(mg.ShapeError, match="cat: the tensor at position 1 is 0-d"):
        mg.cat([t([1.0]), t(2.0)])
    with pytest.raises(mg.ShapeError, match=r"stack: .*\(2, 3\).*\(2, 1\)"):
        mg.stack([a, b])


def test_chunk_gives_ceil_sized_pieces():
    """torch.chunk(arange(5), 3) -> sizes 2, 2, 1; chunk(arange(6), 4) -> 3 pieces of 2."""
    assert [p.tolist() for p in mg.chunk(mg.tensor(np.arange(5)), 3)] == [[0, 1], [2, 3], [4]]
    assert [p.shape for p in mg.tensor(np.arange(6)).chunk(4)] == [(2,), (2,), (2,)]
    assert [p.shape for p in t(np.zeros((2, 5))).chunk(2, dim=1)] == [(2, 3), (2, 2)]
    with pytest.raises(mg.ShapeError, match="chunk: chunks=0"):
        t(np.zeros(3)).chunk(0)


def test_split_errors():
    with pytest.raises(mg.ShapeError, match=r"split: sizes \[2, 2\] .*add up to 5.*\(5,\)"):
        t(np.zeros(5)).split([2, 2])
    with pytest.raises(mg.ShapeError, match=r"split: split_size=0 .*\(3,\)"):
        t(np.zeros(3)).split(0)
    with pytest.raises(TypeError):  # PyTorch's split takes no axis=: numpy's split means sections
        t(np.zeros(4)).split(2, axis=0)


def test_narrow_flip_roll():
    x = mg.tensor(np.arange(6))
    assert x.narrow(0, -2, 2).tolist() == [4, 5]
    with pytest.raises(mg.ShapeError, match=r"narrow: start 2 and length 2 .* size 3"):
        t(np.zeros(3)).narrow(0, 2, 2)
    assert x.reshape(2, 3).flip(0).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert mg.flip(x.reshape(2, 3), (0, 1)).tolist() == [[5, 4, 3], [2, 1, 0]]
    # torch.roll(arange(6).reshape(2, 3), 1) and with shifts (1, -1) over dims (0, 1):
    assert mg.roll(x.reshape(2, 3), 1).tolist() == [[5, 0, 1], [2, 3, 4]]
    assert x.reshape(2, 3).roll((1, -1), (0, 1)).tolist() == [[4, 5, 3], [1, 2, 0]]


def test_repeat_errors_point_to_repeat_interleave():
    with pytest.raises(mg.ShapeError, match=r"repeat: .*\(2, 3\).*repeat_interleave"):
        t(np.zeros((2, 3))).repeat(2)


# ----- gather and scatter: the examples of PyTorch's documentation -------------------------------


def test_gather_doc_example():
    x = mg.tensor(np.array([[1, 2], [3, 4]]))
    out = mg.gather(x, 1, mg.tensor(np.array([[0, 0], [1, 0]])))
    assert out.tolist() == [[1, 1], [4, 3]]


def test_scatter_doc_examples():
    src = mg.tensor(np.arange(1, 11).reshape(2, 5))
    index = mg.tensor(np.array([[0, 1, 2, 0]]))
    out = mg.zeros(3, 5, dtype=src.dtype).scatter(0, index, src)
    assert out.tolist() == [[1, 0, 0, 4, 0], [0, 2, 0, 0, 0], [0, 0, 3, 0, 0]]
    index = mg.tensor(np.array([[0, 1, 2], [0, 1, 4]]))
    out = mg.zeros(3, 5, dtype=src.dtype).scatter(1, index, src)
    assert out.tolist() == [[1, 2, 3, 0, 0], [6, 7, 0, 0, 8], [0, 0, 0, 0, 0]]
    out = mg.scatter(mg.zeros(2, 3, dtype=np.float64), 1, np.array([[0], [2]]), 5.0)
    assert out.tolist() == [[5.0, 0.0, 0.0], [0.0, 0.0, 5.0]]


def test_scatter_add_doc_examples():
    src = mg.ones(2, 5, dtype=np.float64)
    index = np.array([[0, 1, 2, 0, 0]])
    out = mg.zeros(3, 5, dtype=np.float64).scatter_add(0, index, src)
    assert out.tolist() == [[1, 0, 0, 1, 1], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]]
    index = np.array([[0, 1, 2, 0, 0], [0, 1, 2, 2, 2]])
    out = mg.scatter_add(mg.zeros(3, 5, dtype=np.float64), 0, index, src)
    assert out.tolist() == [[2, 0, 0, 1, 1], [0, 2, 0, 0, 0], [0, 0, 2, 1, 1]]


def test_scatter_gradients():
    """The input's gradient is zero where it was overwritten; src's is the cotangent at the
    place each element went (one-to-one index: PyTorch's values)."""
    x = t(np.zeros((3, 4)), requires_grad=True)
    s = t(np.ones((2, 4)), requires_grad=True)
    index = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])
    g = np.arange(12.0).reshape(3, 4)
    mg.scatter(x, 0, index, s).backward(g)
    np.testing.assert_array_equal(x.grad.data, [[0, 0, 2, 0], [4, 0, 0, 0], [0, 9, 0, 11]])
    np.testing.assert_array_equal(s.grad.data, [[0, 5, 10, 3], [8, 1, 6, 7]])


def test_gather_gradient_accumulates_repeats():
    x = t(np.zeros((2, 3)), requires_grad=True)
    x.gather(1, np.array([[0, 0, 2], [1, 1, 1]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 0, 1], [0, 3, 0]])


def test_one_hot_with_scatter_():
    labels = mg.tensor(np.array([2, 0, 1]))
    one_hot = mg.zeros(3, 4, dtype=np.float64).scatter_(1, labels.unsqueeze(1), 1.0)
    np.testing.assert_array_equal(one_hot.data, np.eye(4)[[2, 0, 1]])
    acc = mg.zeros(3, dtype=np.float64)
    assert acc.scatter_add_(0, np.array([0, 0, 2]), t([1.0, 2.0, 3.0])) is acc
    assert acc.tolist() == [3.0, 0.0, 3.0]


def test_gather_and_scatter_errors():
    x = mg.tensor(np.array([[1, 2], [3, 4]]))
    with pytest.raises(mg.IndexingError, match=r"gather: index 2 is out of bounds for dim 1 "
                                               r"with size 2 \(input of shape \(2, 2\)"):  # fmt: skip
        x.gather(1, np.array([[0, 2]]))
    with pytest.raises(mg.ShapeError, match=r"gather: index of shape \(2,\) for input .*\(2, 2\)"):
        x.gather(1, np.array([0, 0]))
    with pytest.raises(mg.DTypeError, match="gather: the index must hold integers"):
        x.gather(1, np.array([[0.0]]))
    with pytest.raises(mg.ShapeError, match=r"scatter: .*\(1, 2\).*src of shape \(1, 1\)"):
        mg.zeros(2, 3, dtype=np.float64).scatter(1, np.array([[0, 1]]), t([[1.0]]))
    with pytest.raises(mg.DTypeError, match="scatter: src is float32 but the input is float64"):
        mg.zeros(2, dtype=np.float64).scatter(0, np.array([0]), mg.ones(1, dtype=np.float32))
    with pytest.raises(mg.IndexingError, match=r"index_select: index 3 .*size 3"):
        mg.index_select(t(np.zeros((3, 2))), 0, np.array([3]))
    with pytest.raises(mg.ShapeError, match=r"index_select: the index must be 1-D"):
        mg.index_select(t(np.zeros((3, 2))), 0, np.array([[0]]))


def test_scatter_in_place_follows_the_in_place_rules():
    w = t(np.zeros(3), requires_grad=True)
    with pytest.raises(mg.OpError, match="copy_: in-place change of a tensor that requires grad"):
        w.scatter_(0, np.array([0]), 1.0)
    with mg.no_grad():
        w.scatter_(0, np.array([0]), 1.0)
    assert w.tolist() == [1.0, 0.0, 0.0]


def test_index_select_take_along_dim():
    x = mg.tensor(np.array([[10, 30, 20], [60, 40, 50]]))
    assert x.index_select(1, mg.tensor(np.array([2, 0]))).tolist() == [[20, 10], [50, 60]]
    assert mg.index_select(x, 0, mg.tensor(np.array(1))).tolist() == [[60, 40, 50]]
    # torch.take_along_dim's examples: with the argmax along dim 1, and flattened.
    assert mg.take_along_dim(x, np.array([[1], [0]]), dim=1).tolist() == [[30], [60]]
    assert mg.take_along_dim(x, np.array([5, 0])).tolist() == [50, 10]
    assert mg.take(x, np.array([[0, 5]])).tolist() == [[10, 50]]


# ----- masks, triangles and indexing -------------------------------------------------------------


def test_masked_fill():
    x = t([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    v = t(7.0, requires_grad=True)
    mask = mg.tensor(np.array([True, False, True, False]))
    y = x.masked_fill(mask, v)
    assert y.tolist() == [7.0, 1.0, 7.0, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 1.0] and v.grad.item() == 2.0
    ints = mg.tensor(np.arange(3)).masked_fill(np.array([False, True, False]), 2.5)
    assert ints.tolist() == [0, 2, 2] and ints.dtype == np.int64  # value cast to the dtype
    with pytest.raises(mg.DTypeError, match="masked_fill: the mask must be boolean, got int64"):
        x.masked_fill(np.array([1, 0, 1, 0]), 1.0)
    with pytest.raises(mg.ShapeError, match=r"masked_fill: value must be .* 0-d .*\(4,\)"):
        x.masked_fill(mask, t([1.0, 2.0, 3.0, 4.0]))


def test_masked_fill_in_place():
    x = t(np.zeros((2, 3)))
    assert x.masked_fill_(np.array([True, False, True]), -1.0) is x
    assert x.tolist() == [[-1.0, 0.0, -1.0], [-1.0, 0.0, -1.0]]
    with pytest.raises(mg.ShapeError, match=r"masked_fill_: .*\(2, 2, 3\).*\(2, 3\)"):
        x.masked_fill_(np.zeros((2, 2, 3), dtype=bool), 1.0)
    w = t(np.zeros(2), requires_grad=True)
    with pytest.raises(mg.OpError, match="requires grad"):
        w.masked_fill_(np.array([True, False]), 1.0)


def test_tril_triu_values_and_errors():
    ones = t(np.ones((3, 4)))
    assert ones.tril(-1).tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]]
    assert ones.triu(1).tolist() == [[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1]]
    inf = t([[1.0, np.inf], [np.inf, 1.0]])
    assert inf.tril().tolist() == [[1.0, 0.0], [np.inf, 1.0]]  # zeros, not inf * 0
    with pytest.raises(mg.ShapeError, match=r"tril: .*at least 2 dims.*\(3,\)"):
        t(np.ones(3)).tril()


def test_boolean_tensor_masks_and_integer_tensor_indices():
    x = t(np.arange(6.0).reshape(2, 3))
    assert x[x > 2].tolist() == [3.0, 4.0, 5.0]
    assert x[mg.tensor(np.array([True, False]))].tolist() == [[0.0, 1.0, 2.0]]
    assert x[:, mg.tensor(np.array([2, 0]))].tolist() == [[2.0, 0.0], [5.0, 3.0]]
    assert x[mg.tensor(np.array(1)), 0].item() == 3.0
    with pytest.raises(mg.IndexingError, match=r"index 5 is out of bounds .* size 3"):
        x[:, 5]
    with pytest.raises(mg.IndexingError, match="getitem: index arrays must hold integers"):
        x[mg.tensor([0.5])]


# ----- F.pad: PyTorch's order, last dim first ----------------------------------------------------


def test_pad_order_is_last_dim_first():
    x = t(np.arange(6.0).reshape(1, 2, 3))
    assert F.pad(x, (1, 2)).shape == (1, 2, 6)
    assert F.pad(x, (1, 2, 0, 1)).shape == (1, 3, 6)
    assert F.pad(x, (1, 1, 1, 1, 1, 1)).shape == (3, 4, 5)
    assert F.pad(x, (-1, 1)).tolist() == [[[1.0, 2.0, 0.0], [4.0, 5.0, 0.0]]]
    assert F.pad(x, [1, 1], value=9.0).tolist() == [[[9, 0, 1, 2, 9], [9, 3, 4, 5, 9]]]


def test_pad_modes():
    row = t([[0.0, 1.0, 2.0]])
    assert F.pad(row, (3, 2), mode="circular").tolist() == [[0, 1, 2, 0, 1, 2, 0, 1]]
    assert F.pad(row, (-1, 2), mode="circular").tolist() == [[1, 2, 1, 2]]
    assert F.pad(row, (2, -1), mode="replicate").tolist() == [[0, 0, 0, 1]]
    assert F.pad(t([[0.0, 1.0, 2.0, 3.0]]), (-1, 2), mode="reflect").tolist() == [[1, 2, 3, 2, 1]]
    image = t(np.arange(4.0).reshape(1, 1, 2, 2))
    assert F.pad(image, (1, 0, 0, 1), mode="reflect").tolist() == [[[[1, 0, 1], [3, 2, 3],
                                                                      [1, 0, 1]]]]  # fmt: skip
    assert F.pad(mg.tensor(np.arange(3)).reshape(1, 3), (1, 1), value=2.5).tolist() == [
        [2, 0, 1, 2, 2]]  # fmt: skip


def test_pad_gradient_flows_to_the_input():
    x = t(np.ones((1, 3)), requires_grad=True)
    F.pad(x, (2, 1), mode="replicate").sum().backward()
    assert x.grad.tolist() == [[3.0, 1.0, 2.0]]


def test_pad_errors():
    x = t(np.zeros((2, 3)))
    with pytest.raises(mg.ShapeError, match=r"pad: pad=\(1,\) .*\(2, 3\)"):
        F.pad(x, (1,))
    with pytest.raises(mg.ShapeError, match=r"pad: .*\(2, 3\)"):
        F.pad(x, (1, 1) * 3)
    with pytest.raises(mg.ShapeError, match=r"pad: reflect padding \(3, 0\) .* size 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(mg.OpError, match="pad: mode 'mirror'"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(mg.ShapeError, match=r"pad: negative pad \(-4, 0\) .*\(2, 3\)"):
        F.pad(x, (-4, 0))


def test_numpy_names_that_mean_something_else_in_pytorch_are_gone():
    """numpy's pad and repeat would read PyTorch-style arguments differently: no mg.pad (PyTorch
    has none: F.pad), no mg.repeat (PyTorch's is a Tensor method)."""
    for name, hint in [("pad", "F.pad"), ("repeat", "repeat_interleave")]:
        with pytest.raises(AttributeError, match=hint):
            getattr(mg, name)
    assert not hasattr(mg.Tensor, "pad")
