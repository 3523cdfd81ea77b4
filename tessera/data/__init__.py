"""Data loading (``ts.data``, also ``ts.utils.data``): datasets, samplers, collation and the
``DataLoader``, with PyTorch's ``torch.utils.data`` API.

``ts.data.collate.collate`` with ``ts.data.collate.default_collate_fn_map`` extends collation to new types.

Example:
    >>> import tessera as ts
    >>> ds = ts.data.TensorDataset(ts.randn(10, 3), ts.arange(10))
    >>> for x, y in ts.data.DataLoader(ds, batch_size=4, shuffle=True):
    ...     pass
"""

from ._worker import WorkerInfo, get_worker_info
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "StackDataset",
    "ConcatDataset",
    "ChainDataset",
    "Subset",
    "random_split",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "WorkerInfo",
]
