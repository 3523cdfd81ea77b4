"""ts.data (= ts.utils.data): datasets, samplers, collation and the DataLoader, in-process and with workers."""

import gc
import multiprocessing as mp
import os
import time
from collections import namedtuple

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

Point = namedtuple("Point", ["x", "y"])


def _ids(loader):
    """The sample ids of every batch of one epoch (datasets below carry their index in the 2nd field)."""
    return [b[1].tolist() for b in loader]


def _ds(n=10):
    return TensorDataset(ts.arange(2.0 * n).reshape(n, 2), ts.arange(n))


def _no_children():
    # Children are reaped by is_alive(); give a just-terminated process a moment to disappear.
    for _ in range(50):
        if not mp.active_children():
            return True
        time.sleep(0.02)
    return False


# -- module-level datasets (picklable, for worker processes) -----------------------------------------------
class Squares(Dataset):
    def __init__(self, n=12):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {
            "x": np.full(3, i, dtype=np.float32),
            "i": i,
            "name": f"s{i}",
            "sq": (float(i * i), i % 2 == 0),
        }


class Shards(IterableDataset):
    """0..n-1, each worker taking every num_workers-th item."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


class RandomDraws(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "np": np.random.rand(),
            "ts": ts.rand(1).item(),
            "wid": -1 if info is None else info.id,
            "seed": -1 if info is None else info.seed,
        }


class Failing(Dataset):
    def __init__(self, exc=None, bad=5):
        self.exc = ValueError("boom: sample 5 is broken") if exc is None else exc
        self.bad = bad

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc
        return i


class Crashing(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 3:
            os._exit(7)
        return i


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(10)
        return i


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


class Batched(Dataset):
    """A dataset with a batched fetch: ``__getitems__`` is used instead of per-sample ``__getitem__``."""

    def __init__(self):
        self.calls = 0

    def __len__(self):
        return 6

    def __getitem__(self, i):
        raise AssertionError("__getitems__ should be used")

    def __getitems__(self, idx):
        return [i * 10 for i in idx]


_INIT_IDS = []


class InitEcho(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return _INIT_IDS[-1]


def _init_fn(worker_id):
    _INIT_IDS.append(100 + worker_id)


def _failing_init(worker_id):
    raise RuntimeError(f"init failed in {worker_id}")


# -- DataLoader basics -------------------------------------------------------------------------------------
def test_sequential_order_and_collate_types():
    batches = list(DataLoader(_ds(), batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert (
        isinstance(batches[0], list) and batches[0][0].shape == (4, 2) and batches[0][0].dtype == ts.float32
    )
    assert batches[0][1].dtype == ts.int64
    # plain Python data: ints -> int64 tensor
    assert [b.tolist() for b in DataLoader(list(range(5)), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert next(iter(DataLoader(list(range(5)), batch_size=2))).dtype == ts.int64


def test_seeded_shuffle_reproducible_and_fresh_each_epoch():
    def epochs(seed, n=3):
        loader = DataLoader(_ds(20), batch_size=6, shuffle=True, generator=ts.Generator().manual_seed(seed))
        return [sum(_ids(loader), []) for _ in range(n)]

    a, b = epochs(0), epochs(0)
    assert a == b
    assert all(sorted(e) == list(range(20)) for e in a)
    assert a[0] != a[1] and a[1] != a[2]
    assert epochs(1)[0] != a[0]
    # without a generator the global seed decides
    ts.manual_seed(3)
    c = _ids(DataLoader(_ds(20), batch_size=5, shuffle=True))
    ts.manual_seed(3)
    assert _ids(DataLoader(_ds(20), batch_size=5, shuffle=True)) == c


def test_drop_last_and_len():
    ds = _ds(10)
    for bs, drop, n in [
        (3, False, 4),
        (3, True, 3),
        (5, True, 2),
        (5, False, 2),
        (20, True, 0),
        (20, False, 1),
    ]:
        loader = DataLoader(ds, batch_size=bs, drop_last=drop)
        assert len(loader) == n
        batches = _ids(loader)
        assert len(batches) == n
        assert all(len(b) == bs for b in batches[: n - 1 if not drop else n])
    unbatched = DataLoader(ds, batch_size=None)
    assert len(unbatched) == 10
    x, y = next(iter(unbatched))
    assert x.shape == (2,) and y.item() == 0
    assert len(DataLoader(Shards(10), batch_size=3)) == 4
    assert len(DataLoader(Shards(10), batch_size=3, drop_last=True)) == 3


def test_custom_samplers_and_collate_fn():
    loader = DataLoader(_ds(), batch_size=2, sampler=[9, 0, 5])
    assert _ids(loader) == [[9, 0], [5]]
    loader = DataLoader(_ds(), batch_sampler=[[1, 2, 3], [7]])
    assert _ids(loader) == [[1, 2, 3], [7]] and len(loader) == 2
    loader = DataLoader(list(range(6)), batch_size=4, collate_fn=lambda b: tuple(b))
    assert list(loader) == [(0, 1, 2, 3), (4, 5)]
    assert list(DataLoader(Batched(), batch_size=4)) and [
        b.tolist() for b in DataLoader(Batched(), batch_size=4)
    ] == [[0, 10, 20, 30], [40, 50]]


def test_dataloader_argument_errors():
    ds = _ds()
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=-2)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(TypeError, match="num_workers"):
        DataLoader(ds, num_workers=1.5)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="timeout"):
        DataLoader(ds, timeout=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Shards(4), shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(Shards(4), sampler=[0, 1])
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="start method"):
        DataLoader(ds, num_workers=1, multiprocessing_context="teleport")
    loader = DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    with pytest.raises(TypeError):
        len(DataLoader(_NoLen()))  # an iterable dataset without __len__


class _NoLen(IterableDataset):
    def __iter__(self):
        return iter(range(3))


def test_utils_data_alias():
    from tessera.utils.data.sampler import RandomSampler as RS

    import tessera.utils.data as tud

    assert tud is ts.data and ts.utils.data.DataLoader is DataLoader and RS is RandomSampler


# -- iterable datasets ---------------------------------------------------------------------------------------
def test_iterable_dataset_single_process():
    assert [b.tolist() for b in DataLoader(Shards(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Shards(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert list(DataLoader(Shards(3), batch_size=None)) == [0, 1, 2]  # unbatched ints stay ints
    assert get_worker_info() is None


@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (3, True), (None, False)])
def test_iterable_dataset_sharded_across_workers(batch_size, drop_last):
    loader = DataLoader(Shards(23), batch_size=batch_size, num_workers=3, drop_last=drop_last)
    batches = [b.tolist() if batch_size else [b] for b in loader]
    seen = sum(batches, [])
    assert len(seen) == len(set(seen))  # no duplicates
    if not drop_last:
        assert sorted(seen) == list(range(23))
    else:
        assert all(len(b) == batch_size for b in batches)
    if batch_size == 4:  # workers answer round-robin: batch k comes from worker k % 3
        assert batches[0] == [0, 3, 6, 9] and batches[1] == [1, 4, 7, 10] and batches[2] == [2, 5, 8, 11]
    assert _no_children()


# -- workers -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_give_same_batches_as_main_process(shuffle):
    def run(num_workers):
        g = ts.Generator().manual_seed(7)
        loader = DataLoader(Squares(13), batch_size=3, shuffle=shuffle, num_workers=num_workers, generator=g)
        return [list(loader) for _ in range(2)]

    ref, got = run(0), run(2)
    assert len(ref[0]) == 5
    for e_ref, e_got in zip(ref, got):
        assert len(e_ref) == len(e_got)
        for a, b in zip(e_ref, e_got):
            assert a["i"].tolist() == b["i"].tolist() and a["name"] == b["name"]
            np.testing.assert_array_equal(a["x"].numpy(), b["x"].numpy())
            assert a["sq"][0].dtype == b["sq"][0].dtype == ts.float64 and a["sq"][1].dtype == ts.bool
            np.testing.assert_array_equal(a["sq"][0].numpy(), b["sq"][0].numpy())
    if shuffle:
        assert [b["i"].tolist() for b in ref[0]] != [b["i"].tolist() for b in ref[1]]
    assert _no_children()


def test_workers_unbatched_and_subset():
    loader = DataLoader(Subset(_ds(), [4, 1, 8]), batch_size=None, num_workers=2)
    assert [y.item() for x, y in loader] == [4, 1, 8]
    assert [b.tolist() for b in DataLoader(Batched(), batch_size=4, num_workers=2)] == [
        [0, 10, 20, 30],
        [40, 50],
    ]


def test_worker_seeding_is_deterministic():
    def run():
        loader = DataLoader(
            RandomDraws(), batch_size=2, num_workers=2, generator=ts.Generator().manual_seed(5)
        )
        return [{k: v.tolist() for k, v in b.items()} for b in loader]

    a, b = run(), run()
    assert a == b
    assert [x["wid"] for x in a] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    seeds = {x["wid"][0]: x["seed"][0] for x in a}
    assert seeds[1] == seeds[0] + 1
    # the two workers draw different random streams
    assert a[0]["np"] != a[1]["np"] and a[0]["ts"] != a[1]["ts"]
    g6 = ts.Generator().manual_seed(6)
    c = [x["np"] for x in DataLoader(RandomDraws(), batch_size=2, num_workers=2, generator=g6)]
    assert c[0].tolist() != a[0]["np"]


def test_worker_init_fn():
    got = [b.tolist() for b in DataLoader(InitEcho(), batch_size=1, num_workers=2, worker_init_fn=_init_fn)]
    assert got == [[100], [101], [100], [101]]
    with pytest.raises(RuntimeError, match="init failed in"):
        list(DataLoader(InitEcho(), num_workers=2, worker_init_fn=_failing_init))
    assert _no_children()


def test_worker_exception_propagates_with_traceback():
    with pytest.raises(ValueError, match="worker process") as info:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "boom: sample 5 is broken" in msg and "__getitem__" in msg  # the worker's traceback text
    del info
    gc.collect()
    assert _no_children()
    # KeyError keeps a readable message; exception types that need other arguments become RuntimeError
    with pytest.raises(KeyError, match="worker process 1"):
        list(DataLoader(Failing(KeyError("missing"), bad=3), batch_size=1, num_workers=2))
    with pytest.raises(RuntimeError, match="NeedsTwoArgs"):
        list(DataLoader(Failing(NeedsTwoArgs(1, 2)), batch_size=2, num_workers=2))
    # without workers the exception is the original one
    with pytest.raises(ValueError, match="^boom"):
        list(DataLoader(Failing(), batch_size=2))
    gc.collect()
    assert _no_children()


def test_worker_crash_is_reported():
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="exited unexpectedly.*exit code 7"):
        list(DataLoader(Crashing(), batch_size=2, num_workers=2))
    assert time.perf_counter() - start < 4.5  # noticed at once, not at the next status poll
    assert _no_children()


def test_timeout():
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="timed out after 0.2 seconds"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.2))
    assert time.perf_counter() - start < 5  # the worker is terminated, not awaited
    assert _no_children()


def test_workers_shut_down_on_exhaustion_break_and_del():
    loader = DataLoader(_ds(40), batch_size=2, num_workers=2)
    list(loader)
    assert _no_children()
    for i, _ in enumerate(loader):
        if i == 2:
            break
    assert _no_children()
    it = iter(loader)
    next(it)
    assert len(mp.active_children()) == 2
    del it
    assert _no_children()
    with pytest.raises(ZeroDivisionError):  # an error in the loop body releases the iterator and its workers
        for _ in loader:
            raise ZeroDivisionError("in the loop body")
    assert _no_children()


def test_persistent_workers():
    loader = DataLoader(_ds(10), batch_size=3, num_workers=2, persistent_workers=True)
    expected = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert _ids(loader) == expected
    pids = sorted(p.pid for p in mp.active_children())
    assert len(pids) == 2
    it = iter(loader)  # abandon an epoch half-way: the next one still starts from the beginning
    next(it)
    assert _ids(loader) == expected
    assert sorted(p.pid for p in mp.active_children()) == pids
    sharded = DataLoader(Shards(9), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(3):
        assert sorted(sum((b.tolist() for b in sharded), [])) == list(range(9))
    del loader, it, sharded
    gc.collect()
    assert _no_children()


def test_spawn_start_method():
    g = ts.Generator().manual_seed(2)
    ref = _ids(DataLoader(_ds(9), batch_size=2, shuffle=True, generator=g))
    g = ts.Generator().manual_seed(2)
    loader = DataLoader(
        _ds(9), batch_size=2, shuffle=True, generator=g, num_workers=2, multiprocessing_context="spawn"
    )
    assert _ids(loader) == ref
    assert _no_children()


# -- collation -----------------------------------------------------------------------------------------------
def _norm(obj):
    """A comparable (type tag, value) form of nested collate outputs, from Tessera or torch."""
    if isinstance(obj, ts.Tensor):
        return ("T", obj.dtype.name, obj.shape, obj.numpy().tolist())
    if torch is not None and isinstance(obj, torch.Tensor):
        return ("T", str(obj.dtype).replace("torch.", ""), tuple(obj.shape), obj.numpy().tolist())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, tuple(_norm(v) for v in obj))
    if isinstance(obj, dict):
        return ("dict", {k: _norm(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_norm(v) for v in obj])
    return ("py", obj)


def _samples(to_tensor):
    return [
        {
            "img": np.arange(6, dtype=np.float32).reshape(2, 3) + k,
            "label": k,
            "w": 0.5 * k,
            "flag": k % 2 == 0,
            "name": f"item{k}",
            "raw": b"xy",
            "pt": Point(np.int32(k), np.float64(k / 3)),
            "pair": (to_tensor(np.array([k, k + 1], dtype=np.int64)), [1.5, k]),
            "nested": {"a": [np.float16(k)], "b": (np.bool_(k > 1),)},
            "t": to_tensor(np.full((2,), k, dtype=np.float64)),
        }
        for k in range(3)
    ]


@needs_torch
def test_default_collate_matches_torch():
    from torch.utils.data import default_collate as torch_collate

    ours = default_collate(_samples(ts.from_numpy))
    theirs = torch_collate(_samples(torch.from_numpy))
    assert _norm(ours) == _norm(theirs)
    assert isinstance(ours["pt"], Point) and isinstance(ours["pair"], list)
    for batch in ([1.0, 2.5], [True, False], [np.float32(1), np.float32(2)], [(1, "a"), (2, "b")]):
        assert _norm(default_collate(batch)) == _norm(torch_collate(batch)), batch


@needs_torch
def test_default_convert_matches_torch():
    from torch.utils.data import default_convert as torch_convert

    for sample in _samples(lambda a: a)[:1] + [np.array([1, 2]), np.float32(3.0), 5, "s", (np.zeros(2), 1)]:
        assert _norm(default_convert(sample)) == _norm(torch_convert(sample))


def test_collate_without_torch():
    out = default_collate([(ts.zeros(2), 1, 0.5, "a"), (ts.ones(2), 2, 1.5, "b")])
    assert isinstance(out, list) and out[0].shape == (2, 2)
    assert out[3] == ("a", "b")  # as torch: strings stay the zipped tuple
    assert out[1].dtype == ts.int64 and out[2].dtype == ts.float64
    np.testing.assert_array_equal(out[0].numpy(), [[0, 0], [1, 1]])
    # autograd flows through collation
    x = ts.ones(2, requires_grad=True)
    default_collate([x, x * 2]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([ts.zeros(2), ts.zeros(3)])
    with pytest.raises(TypeError, match="found"):
        default_collate([object(), object()])
    with pytest.raises(TypeError):
        default_collate([np.array(["a"]), np.array(["b"])])


# -- datasets ------------------------------------------------------------------------------------------------
def test_tensor_dataset():
    ds = _ds(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(ValueError, match=r"TensorDataset: size mismatch.*\(5, 2\), \(4,\)"):
        TensorDataset(ts.zeros(5, 2), ts.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    assert TensorDataset(np.zeros((3, 2)))[1][0].shape == (2,)


def test_concat_subset_stack_chain():
    a, b = _ds(3), _ds(4)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert cat[3][1].item() == 0 and cat[-1][1].item() == 3 and cat[2][1].item() == 2
    with pytest.raises(IndexError):
        cat[7]
    with pytest.raises(ValueError, match="absolute value"):
        cat[-8]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([Shards(3)])
    sub = Subset(cat, [6, 0])
    assert len(sub) == 2 and sub[0][1].item() == 3
    st = StackDataset(x=[1, 2], y=[3, 4])
    assert st[1] == {"x": 2, "y": 4} and StackDataset([1, 2], [3, 4])[0] == (1, 3)
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset([1], [1, 2])
    chained = Shards(2) + Shards(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_random_split():
    ds = list(range(10))
    g = ts.Generator().manual_seed(0)
    parts = random_split(ds, [3, 7], generator=g)
    assert [len(p) for p in parts] == [3, 7]
    idx = [list(p) for p in parts]
    assert sorted(idx[0] + idx[1]) == ds
    again = random_split(ds, [3, 7], generator=ts.Generator().manual_seed(0))
    assert [list(p) for p in again] == idx
    for fracs in ([0.5, 0.5], [0.33, 0.33, 0.34], [0.1, 0.2, 0.7], [0.25, 0.25, 0.25, 0.25]):
        for n in (10, 11, 7):
            parts = random_split(list(range(n)), fracs, generator=ts.Generator().manual_seed(1))
            got = [len(p) for p in parts]
            assert sum(got) == n and sorted(sum((list(p) for p in parts), [])) == list(range(n))
            if torch is not None:
                ref = [len(p) for p in torch.utils.data.random_split(range(n), fracs)]
                assert got == ref, (fracs, n)
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(ds, [3, 4])
    with pytest.raises(ValueError, match="between 0 and 1"):
        random_split(ds, [1.5, -0.5])
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        random_split([1, 2], [0.9, 0.1])


# -- samplers ------------------------------------------------------------------------------------------------
def test_samplers():
    g = ts.Generator().manual_seed(0)
    s = RandomSampler(range(5), generator=g)
    assert len(s) == 5 and sorted(s) == [0, 1, 2, 3, 4]
    s = RandomSampler(range(3), num_samples=7, generator=g)
    out = list(s)
    assert len(out) == 7 == len(s) and sorted(out[:3]) == [0, 1, 2] and sorted(out[3:6]) == [0, 1, 2]
    out = list(RandomSampler(range(4), replacement=True, num_samples=50, generator=g))
    assert len(out) == 50 and set(out) <= {0, 1, 2, 3}
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)
    assert sorted(SubsetRandomSampler([5, 7, 9], generator=g)) == [5, 7, 9]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 40, generator=g))
    assert len(w) == 40 and set(w) <= {1, 3}
    w = list(WeightedRandomSampler([1.0, 1.0, 0.0, 3.0], 3, replacement=False, generator=g))
    assert sorted(w) == [0, 1, 3]
    with pytest.raises(ValueError, match="1d"):
        WeightedRandomSampler([[1.0]], 1)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)
    bs = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = BatchSampler(range(7), 3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(3), 2, "no")
