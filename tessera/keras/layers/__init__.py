"""``ts.keras.layers``: Keras layers as ``ts.nn.Module``s that build their weights on first call.

Example:
    >>> from tessera.keras.layers import Dense, ReLU
    >>> from tessera.keras import Sequential
    >>> model = Sequential([Dense(20, input_shape=(10,)), ReLU(), Dense(1)])
    >>> model(ts.randn(4, 10)).shape
    tessera.Size([4, 1])
"""

from __future__ import annotations

import inspect

from . import (
    attention,
    conv,
    core,
    merge,
    normalization,
    pooling,
    preprocessing,
    regularization,
    reshaping,
    rnn,
    wrappers,
)
from .attention import *
from .base import GetItem, Input, InputLayer, InputSpec, KerasTensor, Layer, OpLayer, clear_session
from .conv import *
from .core import *
from .merge import *
from .normalization import *
from .pooling import *
from .preprocessing import *
from .regularization import *
from .reshaping import *
from .rnn import *
from .wrappers import *

# Keras's aliases
Convolution1D, Convolution2D = Conv1D, Conv2D
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

_MODULES = (attention, conv, core, merge, normalization, pooling, preprocessing, regularization, reshaping)
__all__ = (
    ["Layer", "InputSpec", "KerasTensor", "Input", "InputLayer"]
    + [name for module in _MODULES + (rnn, wrappers) for name in module.__all__]
    + ["Convolution1D", "Convolution2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D"]
    + ["GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D"]
    + ["clear_session", "serialize", "deserialize", "get_builtin_objects"]
)


def get_builtin_objects() -> dict:
    """Class name -> class for every built-in layer and model class (what ``deserialize`` knows)."""
    from .. import models

    objs = {
        name: obj
        for name, obj in globals().items()
        if isinstance(obj, type) and issubclass(obj, Layer) and name in __all__
    }
    objs.update(Model=models.Model, Functional=models.Model, Sequential=models.Sequential)
    objs.update(OpLayer=OpLayer, GetItem=GetItem)
    return objs


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": layer.get_config()}`` (JSON-serialisable).

    Example:
        >>> serialize(Dense(3))["class_name"]
        'Dense'
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"layers.serialize: expected a keras Layer, got {type(layer).__name__}")
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """Rebuild a layer (or model) from ``serialize``'s dict; ``custom_objects`` maps names of user classes.

    Example:
        >>> deserialize({"class_name": "Dense", "config": {"units": 3}}).units
        3
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"layers.deserialize: expected a dict with 'class_name' and 'config', got {config!r}"
        )
    from ..object_registration import lookup

    name = config["class_name"]
    cls = lookup(config.get("registered_name") or name, custom_objects) or lookup(name, custom_objects)
    cls = cls or get_builtin_objects().get(name)
    if cls is None:
        raise ValueError(
            f"layers.deserialize: unknown layer class {name!r}; pass it in custom_objects={{'{name}': {name}}}"
        )
    cfg = dict(config.get("config", {}))
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(cfg, custom_objects=custom_objects)
    return cls.from_config(cfg)
