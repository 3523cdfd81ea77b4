"""Custom-object registration and generic (de)serialization (``keras.saving`` / ``keras.utils``):
``register_keras_serializable``, ``get_custom_objects``, ``CustomObjectScope`` / ``custom_object_scope``,
``get_registered_name`` / ``get_registered_object`` and ``serialize_keras_object`` /
``deserialize_keras_object``. The layer, loss, metric... deserializers consult these registries, so a
registered class loads by name with no ``custom_objects`` argument."""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import Any

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "register_keras_serializable",
    "get_registered_name",
    "get_registered_object",
    "serialize_keras_object",
    "deserialize_keras_object",
]

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_SCOPE = threading.local()

# module a Keras config names -> the Tessera module that knows its classes
_BUILTIN_MODULES = {
    "keras.layers": "tessera.keras.layers",
    "keras.models": "tessera.keras.models",
    "keras.losses": "tessera.keras.losses",
    "keras.metrics": "tessera.keras.metrics",
    "keras.optimizers": "tessera.keras.optimizers",
    "keras.activations": "tessera.keras.activations",
    "keras.initializers": "tessera.keras.initializers",
    "keras.regularizers": "tessera.keras.regularizers",
    "keras.constraints": "tessera.keras.constraints",
}


def get_custom_objects() -> dict[str, Any]:
    """The global dict of custom objects (name -> class/function); edit it to register objects.

    Example:
        >>> get_custom_objects()["MyLayer"] = object  # doctest: +SKIP
    """
    return _GLOBAL_CUSTOM_OBJECTS


def _scoped() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scope in getattr(_SCOPE, "stack", []):
        out.update(scope)
    return out


class CustomObjectScope:
    """Within ``with CustomObjectScope({"Name": obj}):`` deserialization also knows those objects.

    Example:
        >>> with CustomObjectScope({"double": lambda x: 2 * x}):
        ...     get_registered_object("double")(3)
        6
    """

    def __init__(self, custom_objects: dict[str, Any] | None = None) -> None:
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(
                f"CustomObjectScope: custom_objects must be a dict, got {type(custom_objects).__name__}"
            )
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self) -> CustomObjectScope:
        if not hasattr(_SCOPE, "stack"):
            _SCOPE.stack = []
        _SCOPE.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        _SCOPE.stack.pop()


custom_object_scope = CustomObjectScope


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Class/function decorator registering ``obj`` as ``"package>name"`` (default name: its ``__name__``).

    Example:
        >>> @register_keras_serializable(package="demo")
        ... def triple(x):
        ...     return 3 * x
        >>> get_registered_name(triple)
        'demo>triple'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a str without '>', got {package!r}")

    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"register_keras_serializable: cannot register class {obj.__name__}: it has no get_config()"
            )
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """The name ``obj`` was registered under, else its ``__name__``.

    Example:
        >>> get_registered_name(len)
        'len'
    """
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None):
    """The object called ``name`` in the active custom-object scopes, the global registry, then
    ``custom_objects`` and ``module_objects``; ``None`` when unknown.

    Example:
        >>> get_registered_object("nothing-here") is None
        True
    """
    for table in (_scoped(), _GLOBAL_CUSTOM_OBJECTS, custom_objects or {}, module_objects or {}):
        if name in table:
            return table[name]
    return None


def lookup(name: str, custom_objects: dict | None = None):
    """The user object called ``name`` (explicit ``custom_objects`` first, then scopes and the registry,
    also under a bare class name registered as ``"package>Name"``), or ``None``."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    found = get_registered_object(name)
    if found is not None:
        return found
    for key, obj in list(_scoped().items()) + list(_GLOBAL_CUSTOM_OBJECTS.items()):
        if key.split(">")[-1] == name:
            return obj
    return None


def serialize_keras_object(obj) -> Any:
    """A JSON-ready description of ``obj`` (Keras 3 format: ``module``, ``class_name``, ``config``,
    ``registered_name``); plain values pass through; functions become their registered name.

    Example:
        >>> serialize_keras_object(ts.keras.layers.Dense(2))["class_name"]
        'Dense'
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return get_registered_name(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize_keras_object: cannot serialize {obj!r}: it has no get_config()")
    cls = type(obj)
    registered = _GLOBAL_CUSTOM_NAMES.get(cls)
    module = cls.__module__
    for public, ours in _BUILTIN_MODULES.items():
        if module.startswith(ours):
            module = public
            break
    return {
        "module": module,
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": registered or cls.__name__,
    }


def deserialize_keras_object(config, custom_objects: dict | None = None, safe_mode: bool = True, **kwargs):
    """Rebuild an object from ``serialize_keras_object``'s description (or a registered name).

    Example:
        >>> layer = deserialize_keras_object(serialize_keras_object(ts.keras.layers.Dense(2)))
        >>> type(layer).__name__, layer.units
        ('Dense', 2)
    """
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        obj = lookup(config, custom_objects)
        if obj is None:
            raise ValueError(
                f"deserialize_keras_object: unknown object {config!r}; register it or pass custom_objects"
            )
        return obj
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize_keras_object: expected a dict with a 'class_name', got {config!r}")
    name = config["class_name"]
    cls = None
    for key in (config.get("registered_name"), name):
        if key:
            cls = lookup(key, custom_objects)
            if cls is not None:
                break
    if cls is None:
        target = _BUILTIN_MODULES.get(config.get("module") or "keras.layers")
        if target is not None:
            cls = getattr(importlib.import_module(target), name, None)
    if cls is None:
        for target in _BUILTIN_MODULES.values():
            try:
                cls = getattr(importlib.import_module(target), name, None)
            except ImportError:
                continue
            if inspect.isclass(cls):
                break
            cls = None
    if cls is None:
        raise ValueError(
            f"deserialize_keras_object: could not locate class {name!r}. Make sure custom classes are decorated "
            f"with `@keras.saving.register_keras_serializable()` or passed in custom_objects={{'{name}': {name}}}"
        )
    cfg = config.get("config") or {}
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(cfg, custom_objects=custom_objects)
    return cls.from_config(cfg)
