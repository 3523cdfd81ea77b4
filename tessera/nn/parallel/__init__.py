"""``ts.nn.parallel``: ``DataParallel`` (one CPU device: runs the module itself) and related helpers."""

__all__: list[str] = []
