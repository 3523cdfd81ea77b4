"""``ts.keras``: the Keras 3 API on Tessera. Layers are ``ts.nn.Module``s that build their weights on first
call; models add ``compile``/``fit``/``evaluate``/``predict``, callbacks, metrics and saving; ``ops`` is the
backend-neutral operation namespace. Submodules other than the core ones load on first use.

Example:
    >>> import tessera.keras as keras
    >>> from tessera.keras import ops
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> ops.shape(model(ops.ones((4, 3))))
    (4, 2)
"""

import importlib

from . import callbacks, layers, losses, metrics, models, optimizers
from .layers import Input
from .models import Model, Sequential

_LAZY = (
    "activations", "backend", "config", "constraints", "datasets", "initializers", "ops", "random",
    "regularizers", "saving", "utils",
)  # fmt: skip

__all__ = ["Input", "Model", "Sequential", "callbacks", "layers", "losses", "metrics", "models", "optimizers"]
__all__ += list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
