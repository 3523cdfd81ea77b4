"""Utilities, as ``torch.utils``: ``ts.utils.data`` is ``ts.data``."""

from . import data
