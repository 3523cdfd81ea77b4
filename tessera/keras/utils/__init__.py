"""``keras.utils``: data utilities (``to_categorical``, ``pad_sequences``, ``PyDataset``, the dataset
builders, ``split_dataset``), image files, ``get_file``, ``plot_model``, ``set_random_seed``, custom-object
registration and the small helpers Keras programs import from here.

Example:
    >>> from tessera.keras import utils
    >>> utils.to_categorical([1, 0], num_classes=2).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
"""

from __future__ import annotations

import json
import random as _random

import numpy as np

from ..config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled
from ..layers.base import KerasTensor, clear_session
from ..object_registration import *
from ..object_registration import __all__ as _registration_names
from ..ops._convert import standardize_dtype as _standardize
from ..progbar import Progbar
from ..training import _pack_x_y_sample_weight, _unpack_x_y_sample_weight
from . import dataset_utils, file_utils, image_utils, model_visualization, numerical
from .dataset_utils import *
from .file_utils import get_file
from .image_utils import *
from .model_visualization import *
from .numerical import *

__all__ = (
    list(dataset_utils.__all__)
    + list(image_utils.__all__)
    + list(model_visualization.__all__)
    + list(numerical.__all__)
    + list(_registration_names)
    + ["get_file", "Progbar", "clear_session", "Config", "set_random_seed", "is_keras_tensor",
       "get_source_inputs", "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "standardize_dtype",
       "disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled"]
)  # fmt: skip


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and Tessera's (``ts.manual_seed``), so that a
    program's weights, shuffles and dropout repeat from run to run.

    Example:
        >>> set_random_seed(0); a = ts.randn(2)
        >>> set_random_seed(0); bool((a == ts.randn(2)).all())
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"set_random_seed: expected `seed` argument to be an integer. Received: seed={seed!r}"
        )
    from ...core.random import manual_seed

    _random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    manual_seed(int(seed))
    from .. import random as keras_random

    reset = getattr(keras_random, "_reset_global_seed", None)
    if reset is not None:
        reset(int(seed))


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic ``KerasTensor`` (a functional-model tensor).

    Example:
        >>> is_keras_tensor(ts.keras.Input((3,))), is_keras_tensor(ts.ones(3))
        (True, False)
    """
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor) -> list:
    """The ``Input`` tensors a symbolic tensor was computed from.

    Example:
        >>> x = ts.keras.Input((3,)); y = ts.keras.layers.Dense(2)(x)
        >>> get_source_inputs(y) == [x]
        True
    """
    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"get_source_inputs: expected a KerasTensor, got {type(tensor).__name__}")
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.node
        if node is None or not node.inputs:
            found.append(t)
            continue
        stack.extend(reversed(node.inputs))
    return found


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """``x``, ``(x, y)`` or ``(x, y, sample_weight)``, as a ``train_step`` receives its data.

    Example:
        >>> pack_x_y_sample_weight(1, 2)
        (1, 2)
    """
    return _pack_x_y_sample_weight(x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.

    Example:
        >>> unpack_x_y_sample_weight((1, 2))
        (1, 2, None)
    """
    return _unpack_x_y_sample_weight(data)


def standardize_dtype(dtype) -> str:
    """A dtype's Keras name (``"float32"``, ``"int64"``...); ``None`` means ``floatx()``.

    Example:
        >>> standardize_dtype(np.float64), standardize_dtype(int)
        ('float64', 'int32')
    """
    if hasattr(dtype, "dtype") and not isinstance(dtype, type):
        dtype = dtype.dtype
    return _standardize(dtype).name


class Config:
    """A dict-like container of named values with attribute access, ``freeze()`` and JSON output.

    Example:
        >>> c = Config(learning_rate=0.1); c.momentum = 0.9
        >>> c["learning_rate"], c.to_json()
        (0.1, '{"learning_rate": 0.1, "momentum": 0.9}')
    """

    __attrs__ = None

    def __init__(self, **kwargs) -> None:
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _check(self, name) -> None:
        if self._frozen:
            raise ValueError(f"Config: cannot set {name!r}: this Config instance has been frozen")

    def __setattr__(self, name: str, value) -> None:
        self._check(name)
        self._config[name] = value

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'") from None

    def __delattr__(self, name: str) -> None:
        self._check(name)
        del self._config[name]

    def __setitem__(self, key, value) -> None:
        self._check(key)
        self._config[key] = value

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key) -> None:
        self._check(key)
        del self._config[key]

    def __contains__(self, item) -> bool:
        return item in self._config

    def __len__(self) -> int:
        return len(self._config)

    def __iter__(self):
        return iter(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, key, default=None):
        return self._config.get(key, default)

    def update(self, *args, **kwargs) -> None:
        for k in dict(*args, **kwargs):
            self._check(k)
        self._config.update(*args, **kwargs)

    def pop(self, *args):
        self._check(args[0] if args else None)
        return self._config.pop(*args)

    def as_dict(self) -> dict:
        return dict(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
