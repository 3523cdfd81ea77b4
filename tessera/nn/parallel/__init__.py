"""``ts.nn.parallel``: ``DataParallel`` (one CPU device: runs the module itself) and related helpers."""

from .data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
