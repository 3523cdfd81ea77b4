"""``ts.tensorboard``: PyTorch's ``SummaryWriter`` API writing standard TensorBoard event files.

Event files are written with the ``tensorboard`` package's own protobuf messages and event-file writer
(an optional extra: ``pip install tessera[tensorboard]``); TensorFlow is never needed. The package is
imported only when a writer is created.

Example:
    >>> from tessera.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/exp1") as w:  # doctest: +SKIP
    ...     for step in range(10):
    ...         w.add_scalar("loss", 1.0 / (step + 1), step)
"""

from .writer import FileWriter, SummaryWriter

__all__ = ["SummaryWriter", "FileWriter"]
