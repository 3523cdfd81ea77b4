"""``keras.config``: global settings (``floatx``, ``epsilon``, ``image_data_format``, ``backend``...).

Example:
    >>> from tessera.keras import config
    >>> config.floatx(), config.image_data_format()
    ('float32', 'channels_last')
"""

from __future__ import annotations

__all__ = [
    "backend",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]

_STATE = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last"}
_FLOATX = ("bfloat16", "float16", "float32", "float64")


def backend() -> str:
    """The backend's name: ``'tessera'``."""
    return "tessera"


def floatx() -> str:
    """The default float dtype's name (``'float32'`` unless ``set_floatx`` changed it)."""
    return _STATE["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float dtype: ``'float16'``, ``'bfloat16'``, ``'float32'`` or ``'float64'``."""
    if value not in _FLOATX:
        raise ValueError(f"keras.config.set_floatx: unknown floatx {value!r}; expected one of {_FLOATX}")
    _STATE["floatx"] = str(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (``1e-7``)."""
    return _STATE["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor returned by ``epsilon()``."""
    _STATE["epsilon"] = float(value)


def image_data_format() -> str:
    """``'channels_last'`` (the default) or ``'channels_first'``."""
    return _STATE["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """Set the default ``data_format`` of image layers: ``'channels_last'`` or ``'channels_first'``."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "keras.config.set_image_data_format: data_format must be 'channels_last' or 'channels_first', "
            f"got {data_format!r}"
        )
    _STATE["image_data_format"] = str(data_format)
