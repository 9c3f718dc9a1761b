"""minigrad.utils.data: datasets, samplers, collation and the DataLoader, with PyTorch's semantics.

The expected values are PyTorch 2.x's documented behaviour, written in: batch counts with and
without ``drop_last``, a TensorDataset's batches as a list ``[inputs, targets]``,
``default_collate``'s types (a tuple of samples becomes a list, Python floats float64), and
``random_split``'s rounding of fractions (floor, then the rest one each, round-robin).
"""

from __future__ import annotations

import collections
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import DTypeError, ShapeError
from minigrad.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

rng = np.random.default_rng(0)
X = rng.standard_normal((10, 3))  # float64
Y = np.arange(10, dtype=np.int64)


def dataset():
    return TensorDataset(mg.tensor(X, dtype=np.float64), mg.tensor(Y))


class Rows(Dataset):
    """The same samples as ``dataset()``, fetched one by one (the general path)."""

    def __init__(self):
        self.x, self.y = mg.tensor(X, dtype=np.float64), mg.tensor(Y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(Y)


def targets(loader) -> list[list[int]]:
    return [batch[1].tolist() for batch in loader]


# ----- datasets ----------------------------------------------------------------------------------


def test_tensor_dataset_items_are_tuples_of_rows():
    data = dataset()
    assert len(data) == 10
    x, y = data[3]
    np.testing.assert_array_equal(x.numpy(), X[3])
    assert y.item() == 3 and isinstance(data[3], tuple)


def test_tensor_dataset_takes_numpy_arrays_without_copying():
    data = TensorDataset(X, Y)
    assert isinstance(data.tensors[0], mg.Tensor) and data.tensors[0].numpy() is X


def test_tensor_dataset_first_dimensions_must_agree():
    with pytest.raises(ShapeError, match=r"first dimensions differ \(shapes \(3,\), \(4,\)\)"):
        TensorDataset(mg.zeros(3), mg.zeros(4))


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((), ShapeError, "at least one tensor"),
        ((mg.tensor(1.0),), ShapeError, "0-d tensor"),
        (([1, 2, 3],), DTypeError, "argument 0 is a list"),
    ],
)
def test_tensor_dataset_refuses(args, error, match):
    with pytest.raises(error, match=match):
        TensorDataset(*args)


def test_subset_and_its_list_index():
    sub = Subset(list(range(10, 20)), [5, 2])
    assert len(sub) == 2 and sub[0] == 15 and sub[1] == 12 and sub[-1] == 12


def test_concat_dataset_and_the_plus_operator():
    class Numbers(Dataset):
        def __init__(self, values):
            self.values = values

        def __getitem__(self, i):
            return self.values[i]

        def __len__(self):
            return len(self.values)

    both = Numbers([0, 1, 2]) + Numbers([10, 11])
    assert isinstance(both, ConcatDataset)
    assert len(both) == 5 and both.cumulative_sizes == [3, 5]
    assert [both[i] for i in range(5)] == [0, 1, 2, 10, 11]
    assert both[-1] == 11 and both[-5] == 0
    with pytest.raises(IndexError, match="out of range"):
        both[5]
    with pytest.raises(IndexError, match="out of range"):
        both[-6]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


# ----- random_split ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, fractions, sizes",
    [
        (10, [0.33, 0.33, 0.34], [4, 3, 3]),  # floors 3, 3, 3; the 1 left goes to the first
        (7, [0.3, 0.3, 0.4], [3, 2, 2]),
        (11, [0.5, 0.3, 0.2], [6, 3, 2]),
        (10, [0.8, 0.2], [8, 2]),
        (5, [0.25, 0.25, 0.25, 0.25], [2, 1, 1, 1]),
    ],
)
def test_random_split_fractions_round_as_pytorch(n, fractions, sizes):
    parts = random_split(range(n), fractions, generator=mg.Generator(0))
    assert [len(p) for p in parts] == sizes
    assert sorted(i for p in parts for i in p.indices) == list(range(n))  # disjoint, covering


def test_random_split_lengths_and_reproducibility():
    a = random_split(range(10), [7, 3], generator=mg.Generator(1))
    b = random_split(range(10), [7, 3], generator=mg.Generator(1))
    c = random_split(range(10), [7, 3], generator=mg.Generator(2))
    assert [p.indices for p in a] == [p.indices for p in b]
    assert a[0].indices != c[0].indices
    assert [len(p) for p in a] == [7, 3]
    mg.manual_seed(3)
    d = random_split(range(10), [5, 5])
    mg.manual_seed(3)
    assert [p.indices for p in random_split(range(10), [5, 5])] == [p.indices for p in d]


def test_random_split_refuses_lengths_that_do_not_fit():
    with pytest.raises(ValueError, match="add up to 9, but the dataset has 10"):
        random_split(range(10), [5, 4])
    with pytest.raises(ValueError, match="fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.5, -0.5, 1.0])


def test_random_split_warns_of_an_empty_split():
    with pytest.warns(UserWarning) as warned:
        parts = random_split(range(2), [0.9, 0.05, 0.05], generator=mg.Generator(0))
    assert [len(p) for p in parts] == [2, 0, 0]
    assert ["index 1 is 0" in str(w.message) for w in warned] == [True, False]
    assert "index 2 is 0" in str(warned[1].message)


# ----- samplers ----------------------------------------------------------------------------------


def test_sequential_sampler():
    sampler = SequentialSampler(range(4))
    assert list(sampler) == [0, 1, 2, 3] and len(sampler) == 4


def test_random_sampler_is_a_new_permutation_each_epoch_and_reproducible():
    sampler = RandomSampler(range(20), generator=mg.Generator(0))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second
    again = RandomSampler(range(20), generator=mg.Generator(0))
    assert list(again) == first and list(again) == second


def test_random_sampler_with_replacement_and_num_samples():
    drawn = list(
        RandomSampler(range(3), replacement=True, num_samples=300, generator=mg.Generator(0))
    )
    assert len(drawn) == 300 and set(drawn) == {0, 1, 2}
    # without replacement, more samples than the dataset take further permutations
    longer = list(RandomSampler(range(5), num_samples=12, generator=mg.Generator(0)))
    assert len(longer) == 12 and sorted(longer[:5]) == sorted(longer[5:10]) == list(range(5))
    assert len(RandomSampler(range(5), num_samples=12)) == 12


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(replacement=1), TypeError, "replacement should be a boolean"),
        (dict(num_samples=0), ValueError, "num_samples should be a positive integer"),
    ],
)
def test_random_sampler_refuses(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomSampler(range(3), **kwargs)


@pytest.mark.parametrize("drop_last, batches", [(False, [[0, 1, 2], [3, 4, 5], [6]]),
                                                (True, [[0, 1, 2], [3, 4, 5]])])  # fmt: skip
def test_batch_sampler(drop_last, batches):
    sampler = BatchSampler(SequentialSampler(range(7)), 3, drop_last)
    assert list(sampler) == batches and len(sampler) == len(batches)


@pytest.mark.parametrize("args, match", [((0, False), "batch_size should be a positive integer"),
                                         ((2, None), "drop_last should be a boolean")])  # fmt: skip
def test_batch_sampler_refuses(args, match):
    with pytest.raises(ValueError, match=match):
        BatchSampler(range(3), *args)


def test_subset_random_sampler():
    drawn = list(SubsetRandomSampler([7, 3, 9], generator=mg.Generator(0)))
    assert sorted(drawn) == [3, 7, 9]


def test_weighted_random_sampler_follows_the_weights():
    sampler = WeightedRandomSampler([1.0, 0.0, 3.0], 4000, generator=mg.Generator(0))
    counts = np.bincount(list(sampler), minlength=3)
    assert counts[1] == 0  # a zero weight is never drawn
    assert counts[2] / 4000 == pytest.approx(0.75, abs=0.03)
    without = list(WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False))
    assert sorted(without) == [0, 1, 2]
    with pytest.raises(ValueError, match="only 2 weights are non-zero"):
        WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)
    with pytest.raises(ShapeError, match="1d sequence"):
        WeightedRandomSampler([[1.0]], 1)


# ----- default_collate and default_convert -------------------------------------------------------


def test_collate_of_tuples_is_a_list_of_batches():
    ints, floats = default_collate([(1, 2.0), (3, 4.0)])
    assert ints.dtype == np.int64 and ints.tolist() == [1, 3]
    assert floats.dtype == np.float64 and floats.tolist() == [2.0, 4.0]  # PyTorch: float64
    assert isinstance(default_collate([(1, 2.0), (3, 4.0)]), list)


def test_collate_of_dicts_lists_and_strings():
    batch = default_collate([{"a": 1, "b": [1, 2], "s": "x"}, {"a": 2, "b": [3, 4], "s": "y"}])
    assert list(batch) == ["a", "b", "s"]
    assert batch["a"].tolist() == [1, 2]
    assert [t.tolist() for t in batch["b"]] == [[1, 3], [2, 4]]  # transposed, as PyTorch
    assert batch["s"] == ["x", "y"]


def test_collate_of_numbers_bools_and_numpy():
    assert default_collate([True, False]).dtype == np.bool_
    scalars = default_collate([np.float32(1), np.float32(2)])
    assert scalars.dtype == np.float32 and scalars.tolist() == [1.0, 2.0]
    arrays = default_collate([np.zeros(2, np.float32), np.ones(2, np.float32)])
    assert arrays.shape == (2, 2) and arrays.dtype == np.float32
    assert arrays.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_collate_of_tensors_stacks_them():
    batch = default_collate(
        [mg.tensor([1.0, 2.0], dtype=np.float64), mg.tensor([3.0, 4.0], dtype=np.float64)]
    )
    assert isinstance(batch, mg.Tensor) and batch.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(ShapeError, match="different shapes"):
        default_collate([mg.zeros(2), mg.zeros(3)])


def test_collate_keeps_tensors_that_require_grad_on_the_tape():
    w = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    batch = default_collate([w, 2 * w])
    batch.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_collate_of_namedtuples_keeps_the_type():
    Point = collections.namedtuple("Point", "x y")
    batch = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert type(batch) is Point and batch.x.tolist() == [1, 3] and batch.y.tolist() == [2.0, 4.0]


def test_collate_refuses_what_it_cannot_batch():
    with pytest.raises(ShapeError, match="should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="dtype <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert_turns_arrays_into_tensors_and_keeps_numbers():
    converted = default_convert({"x": np.ones(2), "n": 3, "t": (np.zeros(1),)})
    assert isinstance(converted["x"], mg.Tensor) and converted["n"] == 3
    assert isinstance(converted["t"], list) and isinstance(converted["t"][0], mg.Tensor)


# ----- DataLoader ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "batch_size, drop_last, sizes",
    [(3, False, [3, 3, 3, 1]), (3, True, [3, 3, 3]), (5, True, [5, 5]), (1, False, [1] * 10),
     (16, False, [10]), (16, True, [])],
)  # fmt: skip
def test_batch_counts(batch_size, drop_last, sizes):
    loader = DataLoader(dataset(), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in batches] == sizes


def test_a_tensor_dataset_gives_a_list_of_inputs_and_targets_in_order():
    batches = list(DataLoader(dataset(), batch_size=4))
    assert all(isinstance(b, list) and len(b) == 2 for b in batches)
    x, y = batches[1]
    assert x.shape == (4, 3) and x.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), X[4:8])
    assert y.tolist() == [4, 5, 6, 7]


def test_shuffle_is_reproducible_with_a_generator_and_new_each_epoch():
    loader = DataLoader(dataset(), batch_size=4, shuffle=True, generator=mg.Generator(0))
    epoch1, epoch2 = targets(loader), targets(loader)
    assert epoch1 != epoch2
    for epoch in (epoch1, epoch2):
        assert sorted(sum(epoch, [])) == list(range(10)) and [len(b) for b in epoch] == [4, 4, 2]
    again = DataLoader(dataset(), batch_size=4, shuffle=True, generator=mg.Generator(0))
    assert targets(again) == epoch1 and targets(again) == epoch2


def test_shuffle_without_a_generator_follows_manual_seed():
    loader = DataLoader(dataset(), batch_size=3, shuffle=True)
    mg.manual_seed(5)
    first = targets(loader)
    mg.manual_seed(5)
    assert targets(loader) == first
    assert first != [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_whole_batch_indexing_gives_the_batches_of_sample_by_sample(shuffle, drop_last):
    """A TensorDataset is batched by indexing its tensors at once; a Dataset fetching the same
    rows one by one, with the same generator, gives identical batches."""
    kwargs = dict(batch_size=3, shuffle=shuffle, drop_last=drop_last)
    fast = list(DataLoader(dataset(), generator=mg.Generator(4), **kwargs))
    slow = list(DataLoader(Rows(), generator=mg.Generator(4), **kwargs))
    assert len(fast) == len(slow) > 0
    for (x1, y1), (x2, y2) in zip(fast, slow):
        np.testing.assert_array_equal(x1.numpy(), x2.numpy())
        np.testing.assert_array_equal(y1.numpy(), y2.numpy())
        assert x1.dtype == x2.dtype and y1.dtype == y2.dtype


def test_a_tensor_dataset_is_batched_without_fetching_single_samples(monkeypatch):
    def one_by_one(self, index):
        raise AssertionError("fetched one sample")

    monkeypatch.setattr(TensorDataset, "__getitem__", one_by_one)
    assert [len(y) for _, y in DataLoader(dataset(), batch_size=4, shuffle=True)] == [4, 4, 2]
    part = Subset(dataset(), [9, 0, 4])
    assert [y.tolist() for _, y in DataLoader(part, batch_size=2)] == [[9, 0], [4]]


def test_a_subclass_that_changes_getitem_is_fetched_sample_by_sample():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x, 2 * y

    loader = DataLoader(Doubled(mg.tensor(X, dtype=np.float64), mg.tensor(Y)), batch_size=5)
    assert targets(loader) == [[0, 2, 4, 6, 8], [10, 12, 14, 16, 18]]


def test_random_split_subsets_load_their_own_samples():
    train, test = random_split(dataset(), [0.7, 0.3], generator=mg.Generator(0))
    seen = sum(targets(DataLoader(train, batch_size=4)), []) + sum(
        targets(DataLoader(test, batch_size=4)), []
    )
    assert seen == train.indices + test.indices and sorted(seen) == list(range(10))


def test_a_loader_over_tensors_that_require_grad_keeps_the_tape():
    w = mg.tensor(X, dtype=np.float64, requires_grad=True)
    (x,) = next(iter(DataLoader(TensorDataset(w), batch_size=4)))
    x.sum().backward()
    assert w.grad.numpy()[:4].tolist() == [[1.0] * 3] * 4 and w.grad.numpy()[4:].sum() == 0


def test_collate_fn_sampler_and_batch_sampler():
    loader = DataLoader(dataset(), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 4, 2]
    backwards = DataLoader(dataset(), batch_size=4, sampler=list(range(9, -1, -1)))
    assert targets(backwards) == [[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]
    chosen = DataLoader(dataset(), batch_sampler=[[0, 5], [2]])
    assert targets(chosen) == [[0, 5], [2]] and len(chosen) == 2


def test_batch_size_none_yields_samples_without_a_batch_dimension():
    loader = DataLoader(dataset(), batch_size=None)
    first = next(iter(loader))
    assert isinstance(first, list) and first[0].shape == (3,) and first[1].item() == 0
    assert len(loader) == 10
    assert list(DataLoader(range(3), batch_size=None)) == [0, 1, 2]  # numbers stay numbers


def test_a_dataset_that_fetches_many_at_once_gets_the_whole_batch():
    calls = []

    class Many(Dataset):
        def __getitems__(self, indices):
            calls.append(list(indices))
            return [float(i) for i in indices]

        def __len__(self):
            return 5

    assert [b.tolist() for b in DataLoader(Many(), batch_size=2)] == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert calls == [[0, 1], [2, 3], [4]]


def test_workers_and_pinned_memory_are_accepted_and_change_nothing():
    plain = targets(DataLoader(dataset(), batch_size=3, shuffle=True, generator=mg.Generator(2)))
    loader = DataLoader(dataset(), batch_size=3, shuffle=True, generator=mg.Generator(2),
                        num_workers=4, pin_memory=True, persistent_workers=True,
                        prefetch_factor=2)  # fmt: skip
    assert targets(loader) == plain
    assert get_worker_info() is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=3), "batch_sampler option is mutually exclusive"),
        (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "disables auto-batching"),
        (dict(batch_size=0), "batch_size should be a positive integer"),
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(timeout=-1), "timeout option should be non-negative"),
    ],
)
def test_loader_arguments_are_checked_as_pytorch_checks_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(dataset(), **kwargs)


def test_settings_that_built_the_batches_cannot_change_afterwards():
    loader = DataLoader(dataset(), batch_size=3)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after"):
        loader.batch_size = 5
    loader.collate_fn = default_collate  # what PyTorch allows stays allowed


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("drop_last, sizes", [(False, [3, 3, 1]), (True, [3, 3])])
def test_an_iterable_dataset_is_batched_in_order(drop_last, sizes):
    loader = DataLoader(Stream(7), batch_size=3, drop_last=drop_last)
    batches = [b.tolist() for b in loader]
    assert [len(b) for b in batches] == sizes and batches[0] == [0, 1, 2]
    assert len(loader) == len(sizes)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)


def test_a_training_loop_over_a_loader():
    """The loop a PyTorch script writes: loss falls on a linearly separable problem."""
    generator = mg.Generator(0)
    x = mg.tensor(X, dtype=np.float64)
    y = mg.tensor((X[:, 0] > 0).astype(np.int64))
    model = mg.nn.Linear(3, 2, dtype=np.float64, generator=generator)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, generator=generator)
    losses = []
    for _ in range(30):
        total = 0.0
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = mg.nn.functional.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        losses.append(total / len(X))
    assert losses[-1] < 0.5 * losses[0]
    assert math.isfinite(losses[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(loader)


def test_a_missing_name_says_so_by_pytorchs_name():
    with pytest.raises(
        AttributeError, match="minigrad has no `torch.utils.data.DistributedSampler`"
    ):
        mg.utils.data.DistributedSampler  # noqa: B018


def test_datasets_samplers_and_loaders_are_generic_as_pytorchs():
    """Type-annotated PyTorch code subscripts them: ``class Pairs(Dataset[tuple])``."""

    class Pairs(Dataset[tuple]):
        def __getitem__(self, i):
            return i, float(i)

        def __len__(self):
            return 3

    loader: DataLoader[tuple] = DataLoader(Pairs(), batch_size=2)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2]]
    assert Sampler[int] is not None and IterableDataset[int] is not None
