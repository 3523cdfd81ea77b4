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
    "DTypePolicy",
    "dtype_policy",
    "set_dtype_policy",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "is_interactive_logging_enabled",
    "disable_traceback_filtering",
    "is_traceback_filtering_enabled",
    "disable_flash_attention",
    "enable_flash_attention",
    "is_flash_attention_enabled",
    "enable_unsafe_deserialization",
    "is_nnx_enabled",
    "max_epochs",
    "set_max_epochs",
    "max_steps_per_epoch",
    "set_max_steps_per_epoch",
]

_STATE = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
    "dtype_policy": None,  # None: follow floatx
    "interactive_logging": True,
    "flash_attention": None,
    "unsafe_deserialization": False,
    "max_epochs": None,
    "max_steps_per_epoch": None,
}
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


# -- dtype policy -------------------------------------------------------------------------------------------
class DTypePolicy:
    """A layer dtype policy: the dtype of the weights and of the computations. Tessera supports the pure
    policies (``"float32"``, ``"float64"``, ``"float16"``, ``"bfloat16"``: both dtypes the same).

    Example:
        >>> DTypePolicy("float64").compute_dtype
        'float64'
    """

    def __init__(self, name: str | None = None) -> None:
        name = floatx() if name is None else name
        if isinstance(name, str) and name.startswith("mixed_"):
            raise ValueError(
                f"DTypePolicy: mixed precision policy {name!r} is not supported; use a pure policy such as "
                "'float32' or 'bfloat16' (or ts.autocast)"
            )
        if name not in _FLOATX:
            raise ValueError(f"DTypePolicy: unknown policy {name!r}; expected one of {_FLOATX}")
        self.name = str(name)

    @property
    def compute_dtype(self) -> str:
        return self.name

    @property
    def variable_dtype(self) -> str:
        return self.name

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def dtype_policy() -> DTypePolicy:
    """The global dtype policy new layers use when given no ``dtype`` (default: ``floatx()``).

    Example:
        >>> dtype_policy().name
        'float32'
    """
    return _STATE["dtype_policy"] or DTypePolicy(floatx())


def set_dtype_policy(policy) -> None:
    """Set the global dtype policy (a ``DTypePolicy`` or a policy name such as ``"float64"``).

    Example:
        >>> set_dtype_policy("float64"); set_dtype_policy("float32")
    """
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if not isinstance(policy, DTypePolicy):
        raise ValueError(
            f"keras.config.set_dtype_policy: expected a DTypePolicy or a policy name, got {policy!r}"
        )
    _STATE["dtype_policy"] = policy


# -- logging, tracebacks, attention -------------------------------------------------------------------------
def enable_interactive_logging() -> None:
    """Progress bars and summaries print to stdout (the default)."""
    _STATE["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress bars and summaries go to the ``logging`` module (logger ``"tessera.keras"``, level INFO)
    instead of stdout, one line per update (for non-interactive jobs).

    Example:
        >>> disable_interactive_logging(); is_interactive_logging_enabled()
        False
        >>> enable_interactive_logging()
    """
    _STATE["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether output goes to stdout (True) or to ``logging`` (False)."""
    return _STATE["interactive_logging"]


def disable_traceback_filtering() -> None:
    """Keep full tracebacks. Tessera never filters its frames out of tracebacks, so this is always the
    case; the function exists so that programs calling it run unchanged.

    Example:
        >>> disable_traceback_filtering(); is_traceback_filtering_enabled()
        False
    """


def is_traceback_filtering_enabled() -> bool:
    """False: Tessera shows full tracebacks."""
    return False


def enable_flash_attention() -> None:
    """Ask ``dot_product_attention`` layers to use a flash-attention kernel where one exists."""
    _STATE["flash_attention"] = True


def disable_flash_attention() -> None:
    """Never use a flash-attention kernel."""
    _STATE["flash_attention"] = False


def is_flash_attention_enabled() -> bool | None:
    """The flash-attention setting: ``None`` (the default: decide automatically), True or False.

    Example:
        >>> is_flash_attention_enabled() is None
        True
    """
    return _STATE["flash_attention"]


def enable_unsafe_deserialization() -> None:
    """Allow loading configs that contain Python code (``Lambda`` layers' bytecode); off by default."""
    _STATE["unsafe_deserialization"] = True


def is_nnx_enabled() -> bool:
    """False: Flax NNX integration is a JAX-backend feature."""
    return False


# -- debugging limits ---------------------------------------------------------------------------------------
def _limit(who: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"keras.config.{who}: expected a positive int or None, got {value!r}")
    return int(value)


def max_epochs() -> int | None:
    """The cap on ``fit``'s ``epochs`` (``None``: no cap)."""
    return _STATE["max_epochs"]


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap the epochs of every ``fit`` (e.g. to smoke-test a script); ``None`` removes the cap.

    Example:
        >>> set_max_epochs(1); max_epochs()
        1
        >>> set_max_epochs(None)
    """
    _STATE["max_epochs"] = _limit("set_max_epochs", max_epochs)


def max_steps_per_epoch() -> int | None:
    """The cap on the steps of each epoch (``None``: no cap)."""
    return _STATE["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the steps per epoch of every ``fit``/``evaluate``; ``None`` removes the cap.

    Example:
        >>> set_max_steps_per_epoch(2); max_steps_per_epoch()
        2
        >>> set_max_steps_per_epoch(None)
    """
    _STATE["max_steps_per_epoch"] = _limit("set_max_steps_per_epoch", max_steps_per_epoch)
