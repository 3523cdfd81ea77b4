"""Datasets: the map-style ``Dataset`` and stream-style ``IterableDataset`` protocols, plus the
``TensorDataset``, ``ConcatDataset``, ``ChainDataset``, ``StackDataset`` and ``Subset`` wrappers and
``random_split`` (PyTorch's ``torch.utils.data`` semantics)."""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from ..core.creation import randperm
from ..core.random import Generator, default_generator

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "StackDataset",
    "ConcatDataset",
    "ChainDataset",
    "Subset",
    "random_split",
]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses implement ``__getitem__(index)`` (and usually ``__len__``).

    ``a + b`` concatenates two datasets into a ``ConcatDataset``.

    Example:
        >>> class Squares(ts.data.Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> Squares()[3]
        9
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable[T_co]):
    """A dataset that is a stream of samples: subclasses implement ``__iter__``.

    With ``num_workers > 0`` every worker process iterates its own copy of the dataset; use
    ``ts.data.get_worker_info()`` inside ``__iter__`` to give each worker a different shard.

    Example:
        >>> class Count(ts.data.IterableDataset):
        ...     def __iter__(self):
        ...         info = ts.data.get_worker_info()
        ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(start, 10, step))
        >>> list(Count())[:3]
        [0, 1, 2]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


def _first_dim(t, who: str, i: int) -> int:
    shape = getattr(t, "shape", None)
    if shape is None or not hasattr(t, "__getitem__"):
        raise TypeError(f"{who}: argument {i} must be a tensor or array, got {type(t).__name__}")
    if len(shape) == 0:
        raise ValueError(
            f"{who}: argument {i} is 0-dimensional; every tensor needs a first (sample) dimension"
        )
    return shape[0]


class TensorDataset(Dataset):
    """A dataset of tensors sharing their first dimension: sample ``i`` is ``tuple(t[i] for t in tensors)``.

    Example:
        >>> ds = ts.data.TensorDataset(ts.randn(5, 3), ts.arange(5))
        >>> x, y = ds[2]
        >>> x.shape, y
        (tessera.Size([3]), tensor(2))
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        sizes = [_first_dim(t, "TensorDataset", i) for i, t in enumerate(tensors)]
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: all tensors must have the same first "
                f"dimension, got shapes {shapes}"
            )
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class StackDataset(Dataset):
    """Zip datasets of equal length: sample ``i`` is ``tuple(d[i] for d in args)`` or, with keyword
    arguments, ``{name: d[i]}``.

    Example:
        >>> ds = ts.data.StackDataset(x=[1, 2], y=[3, 4])
        >>> ds[1]
        {'x': 2, 'y': 4}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError(
                "StackDataset: supported either ``tuple``- (via ``args``) or ``dict``- (via ``kwargs``) "
                "like input/output, but both types are given."
            )
        datasets = args if args else tuple(kwargs.values())
        if not datasets:
            raise ValueError("StackDataset: at least one dataset should be passed")
        lengths = [len(d) for d in datasets]
        if any(n != lengths[0] for n in lengths):
            raise ValueError(f"StackDataset: size mismatch between datasets, got lengths {lengths}")
        self._length = lengths[0]
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """The concatenation of several map-style datasets.

    Example:
        >>> ds = ts.data.ConcatDataset([[1, 2], [3, 4, 5]])
        >>> len(ds), ds[2], ds[-1]
        (5, 3, 5)
    """

    @staticmethod
    def cumsum(sequence) -> list[int]:
        r, s = [], 0
        for e in sequence:
            s += len(e)
            r.append(s)
        return r

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if not isinstance(idx, numbers.Integral):
            raise TypeError(f"ConcatDataset: index must be an int, got {type(idx).__name__}")
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {n}")
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Chain several iterable datasets into one stream.

    Example:
        >>> class R(ts.data.IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(ts.data.ChainDataset([R(2), R(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> s = ts.data.Subset([10, 11, 12, 13], [3, 0])
        >>> len(s), s[0], s[1]
        (2, 13, 10)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        # Datasets with a batched fetch (``__getitems__``) keep it through the Subset.
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: Generator | None = default_generator
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    ``lengths`` are either ints summing to ``len(dataset)`` or fractions summing to 1; with fractions,
    each part gets ``floor(len * frac)`` samples and the remainder is handed out one by one, round-robin
    from the first part (as PyTorch). The split is deterministic for a given ``generator`` state.

    Example:
        >>> train, val = ts.data.random_split(range(10), [0.8, 0.2], generator=ts.Generator().manual_seed(0))
        >>> len(train), len(val)
        (8, 2)
    """
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"random_split: generator must be a ts.Generator, got {type(generator).__name__}")
    lengths = list(lengths)
    n = len(dataset)
    for x in lengths:
        if not isinstance(x, numbers.Real) or isinstance(x, bool):
            raise TypeError(f"random_split: lengths must be ints or floats, got {lengths!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {frac}")
            subset_lengths.append(int(math.floor(n * frac)))
        remainder = n - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    for x in lengths:
        if not isinstance(x, numbers.Integral) or x < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions, got {lengths!r}")
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the input "
            f"dataset ({n})!"
        )
    indices = randperm(n, generator=generator).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, indices[offset : offset + length]))
        offset += length
    return out


def _is_iterable_dataset(dataset: Any) -> bool:
    return isinstance(dataset, IterableDataset)
