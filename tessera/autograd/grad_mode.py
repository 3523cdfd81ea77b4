"""Grad-mode switches, re-exported from ``tessera.core.grad_mode`` (where the dispatcher reads them)."""

from ..core.grad_mode import *  # noqa: F403
from ..core.grad_mode import STATE, __all__  # noqa: F401
