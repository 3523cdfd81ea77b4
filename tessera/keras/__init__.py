"""``ts.keras``: the Keras API on Tessera. Layers are ``ts.nn.Module``s that build their weights on first
call; models add ``compile``/``fit``/``evaluate``/``predict``, callbacks, metrics and saving."""

from . import callbacks, layers, losses, metrics, models, optimizers
from .layers import Input
from .models import Model, Sequential

__all__ = ["Input", "Model", "Sequential", "callbacks", "layers", "losses", "metrics", "models", "optimizers"]
