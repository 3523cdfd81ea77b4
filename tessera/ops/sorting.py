"""Sorting and selection ops: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``unique`` and friends."""

__all__: list[str] = []
