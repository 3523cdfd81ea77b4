"""Saving Keras-style models: ``model.save(path)`` / ``keras.models.load_model(path)`` and weights files.

A saved model is one zip archive (``model.keras``), never a pickle:

- ``config.json``: ``{"class_name", "config", "build_input_shape"}``: the architecture from
  ``model.get_config()``, rebuilt by ``keras.models.model_from_config`` (models of built-in layers reload
  without the Python file that defined them) and built with the saved input shape;
- ``model.safetensors``: the weights by ``state_dict()`` key;
- ``compile.json`` (if the model was compiled): ``model._compile_config``, replayed by
  ``model.compile_from_config``;
- ``optimizer.safetensors`` / ``optimizer.json``: the optimizer's ``state_dict()`` (a ``ts.save`` file) and
  ``get_config()``, so that ``fit`` resumes where it stopped;
- ``metadata.json``: format and Tessera versions, save date.

Writes are atomic (see ``tessera._atomic``): a crash during a save leaves the previous file intact.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from ..core.allocator import allocation_budget
from .object_registration import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = [
    "save_model",
    "load_model",
    "save_weights",
    "load_weights",
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "serialize_keras_object",
]

FORMAT_VERSION = "1"
_CONFIG, _WEIGHTS, _COMPILE = "config.json", "model.safetensors", "compile.json"
_OPT_STATE, _OPT_CONFIG, _META = "optimizer.safetensors", "optimizer.json", "metadata.json"


def _jsonable(x):
    """Tuples -> lists (JSON has no tuples); everything else must already be JSON-serialisable."""
    if isinstance(x, tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, np.integer):
        return int(x)
    return x


def _dumps(obj, what: str, path: str) -> bytes:
    try:
        return json.dumps(_jsonable(obj), indent=1, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"save_model: {what} of the model is not JSON-serialisable ({e}); saving {path!r}"
        ) from None


def _build_input_shape(model):
    """The input shape the model was built with (batch dim included), or None if it builds itself."""
    for attr in ("_build_input_shape", "input_shape"):
        try:
            shape = getattr(model, attr, None)
        except Exception:  # noqa: BLE001 - e.g. a property that raises for subclassed models
            shape = None
        if shape is not None:
            return _jsonable(shape)
    return None


def _state_arrays(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _weights_bytes(model) -> bytes:
    from ..serialization import to_safetensors

    return to_safetensors(_state_arrays(model), {"format": "tessera.keras.weights", "tessera.version": "1"})


def _check_model(model, what: str):
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"{what}: expected a Keras model (a ts.nn.Module), got {type(model).__name__}")
    if getattr(model, "built", True) is False:
        raise ValueError(
            f"{what}: the model {type(model).__name__!r} has not been built yet, so it has no weights; call it on "
            "a batch of data or call model.build(input_shape) first"
        )


def save_model(model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save ``model`` (architecture, weights, compile arguments and optimizer state) to one ``.keras`` zip
    file; the write is atomic.

    Example:
        >>> model.save("model.keras")  # doctest: +SKIP
        >>> restored = ts.keras.models.load_model("model.keras")  # doctest: +SKIP
    """
    from .._atomic import atomic_write
    from ..serialization import _serialize

    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_model: {path!r} already exists and overwrite=False")
    _check_model(model, "save_model")
    if not hasattr(model, "get_config"):
        raise TypeError(
            f"save_model: {type(model).__name__} has no get_config(), so its architecture cannot be saved"
        )
    try:
        config = model.get_config()
    except NotImplementedError as e:
        raise NotImplementedError(
            f"save_model: {type(model).__name__}.get_config() is not implemented ({e}); subclassed models must "
            "implement get_config()/from_config() to be saved whole, or use model.save_weights()"
        ) from None
    from .. import __version__

    members: dict[str, bytes] = {
        _META: _dumps(
            {
                "format": "tessera.keras",
                "format_version": FORMAT_VERSION,
                "tessera_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            },
            "metadata",
            path,
        ),
        _CONFIG: _dumps(
            {
                "class_name": type(model).__name__,
                "module": type(model).__module__,
                "config": config,
                "build_input_shape": _build_input_shape(model),
            },
            "get_config()",
            path,
        ),
        _WEIGHTS: _weights_bytes(model),
    }
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None:
        members[_COMPILE] = _dumps(compile_config, "the compile() arguments", path)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_config"):
            members[_OPT_CONFIG] = _dumps(optimizer.get_config(), "the optimizer's get_config()", path)
        state = None
        if optimizer is not None and hasattr(optimizer, "state_dict"):
            try:
                state = optimizer.state_dict()
            except (RuntimeError, AttributeError):
                state = None  # the optimizer is created lazily and has not been built yet
        if state is not None:
            members[_OPT_STATE] = _serialize(state)

    def write(f):
        with zipfile.ZipFile(f, "w") as z:
            for name, data in members.items():
                compress = zipfile.ZIP_STORED if name.endswith(".safetensors") else zipfile.ZIP_DEFLATED
                z.writestr(name, data, compress_type=compress)

    atomic_write(path, write)


# A JSON member larger than this is not a model description but a decompression bomb; a weights member is
# stored uncompressed, so it may not inflate beyond its stored size (plus slack for a deflating writer).
_JSON_MEMBER_LIMIT = 64 * 1024 * 1024
_INFLATE_RATIO_LIMIT = 100


def _read_member(z: zipfile.ZipFile, member: str, name: str) -> bytes:
    """One member's bytes, refusing members that inflate far beyond what a model file holds; the limit is
    enforced on the bytes actually read (the sizes a zip header declares may lie)."""
    info = z.getinfo(member)
    if member.endswith(".json"):
        limit = _JSON_MEMBER_LIMIT
    else:
        limit = max(info.compress_size * _INFLATE_RATIO_LIMIT, 1 << 20)
    if info.file_size > limit:
        raise ValueError(
            f"{name}: {member} declares {info.file_size} bytes uncompressed ({info.compress_size} stored), "
            f"more than a model file's member may hold ({limit} bytes); the file is corrupt or malicious"
        )
    with z.open(member) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(
            f"{name}: {member} inflates beyond {limit} bytes ({info.compress_size} stored); the file is "
            "corrupt or malicious"
        )
    return data


def _read_archive(filepath, what: str) -> tuple[dict[str, bytes], str]:
    from ..serialization import _sniff, read_bytes

    data, name = read_bytes(filepath, what)
    if data[:4] != b"PK\x03\x04":
        _sniff(data, name)  # a pickle / .npy: the specific error
        if len(data) >= 8 and data[8:9] == b"{":
            raise ValueError(
                f"{name} is a safetensors weights file, not a saved model; build the model and call "
                "model.load_weights() (or load_state_dict(ts.load(...))) instead"
            )
        raise ValueError(
            f"{name} is not a Tessera Keras model file (expected a zip archive written by model.save)"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if any(n.endswith(".pkl") for n in names):
                _sniff(data, name)
            if _CONFIG not in names or _WEIGHTS not in names:
                missing = sorted({_CONFIG, _WEIGHTS} - names)
                raise ValueError(
                    f"{name} is not a Tessera Keras model file: the archive lacks {', '.join(missing)}"
                )
            members = {
                n: _read_member(z, n, name)
                for n in (_CONFIG, _WEIGHTS, _COMPILE, _OPT_STATE, _OPT_CONFIG, _META)
                if n in names
            }
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError) as e:
        raise ValueError(f"{name} is a corrupt or truncated model file ({e})") from None
    return members, name


def _loads(data: bytes, member: str, name: str):
    from ..serialization import parse_structure

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: corrupt {member} in the model file ({e})") from None
    try:
        return parse_structure(text, f"{name} ({member})")  # JSON with the depth limit of ts.load
    except ValueError as e:
        raise ValueError(f"{name}: corrupt {member} in the model file ({e})") from None


def _shape_arg(shape):
    if isinstance(shape, list) and shape and all(isinstance(s, list) for s in shape):
        return [tuple(s) for s in shape]
    return tuple(shape) if isinstance(shape, list) else shape


_BUILD_SLACK = 16 * 1024 * 1024  # buffers and temporaries a build may allocate beyond the stored weights


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None, compile: bool = True):
    """Rebuild a model saved by ``model.save``: architecture from its config (custom classes through
    ``custom_objects``), weights bit-identical, and, with ``compile=True``, the compile arguments and the
    optimizer state, so training resumes. Never unpickles; a corrupt file raises ``ValueError``.

    Example:
        >>> model = ts.keras.models.load_model("model.keras")  # doctest: +SKIP
        >>> model.fit(x, y, epochs=1)  # continues with the saved optimizer state  # doctest: +SKIP
    """
    from ..serialization import _Unpacker, from_safetensors
    from . import models

    members, name = _read_archive(filepath, "load_model")
    if _META in members:
        meta = _loads(members[_META], _META, name)
        if not isinstance(meta, dict):
            raise ValueError(f"{name}: corrupt {_META} in the model file (not a JSON object)")
        version = meta.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{name} uses model format version {version!r}; this Tessera reads {FORMAT_VERSION!r}"
            )
    cfg = _loads(members[_CONFIG], _CONFIG, name)
    if not isinstance(cfg, dict) or "class_name" not in cfg or "config" not in cfg:
        raise ValueError(f"{name}: corrupt {_CONFIG} in the model file (no class_name/config)")
    weights, _ = from_safetensors(members[_WEIGHTS], f"{name} ({_WEIGHTS})")
    # The rebuilt layers may allocate little more than the stored weights: a tiny file declaring a huge
    # layer fails here, before the allocation, not after gigabytes of it.
    stored = sum(a.nbytes for a in weights.values())
    budget = 2 * stored + _BUILD_SLACK
    try:
        with allocation_budget(budget, f"{name}: the architecture in {_CONFIG} allocates more than"):
            model = models.model_from_config(
                {"class_name": cfg["class_name"], "config": cfg["config"]}, custom_objects=custom_objects
            )
            if getattr(model, "built", True) is False:
                shape = cfg.get("build_input_shape")
                if shape is None:
                    raise ValueError(
                        f"{name}: the saved model has no build input shape and {cfg['class_name']} does not "
                        "build itself from its config"
                    )
                model.build(_shape_arg(shape))
    except (TypeError, KeyError, AttributeError, IndexError, RuntimeError, ValueError) as e:
        if isinstance(e, ValueError) and name in str(e):
            raise
        raise ValueError(f"{name}: corrupt {_CONFIG} in the model file ({type(e).__name__}: {e})") from None
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise ValueError(f"{name}: the saved weights do not fit the rebuilt architecture: {e}") from None
    if compile and _COMPILE in members:
        compile_config = _loads(members[_COMPILE], _COMPILE, name)
        if not hasattr(model, "compile_from_config"):
            raise TypeError(
                f"load_model: {type(model).__name__} cannot be recompiled (no compile_from_config)"
            )
        model.compile_from_config(compile_config)
        if _OPT_STATE in members:
            arrays, meta = from_safetensors(members[_OPT_STATE], f"{name} ({_OPT_STATE})")
            structure = meta.get("tessera.structure")
            if structure is None:
                raise ValueError(f"{name}: corrupt {_OPT_STATE} in the model file (no structure metadata)")
            state = _Unpacker(arrays, f"{name} ({_OPT_STATE})").unpack(
                _loads(structure.encode(), _OPT_STATE, name)
            )
            optimizer = getattr(model, "optimizer", None)
            if optimizer is None or not hasattr(optimizer, "load_state_dict"):
                raise TypeError("load_model: the recompiled model's optimizer cannot restore its saved state")
            optimizer.load_state_dict(state)
    return model


def save_weights(model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Save the model's weights (``state_dict()`` keys) to a safetensors file, atomically. The file is a
    plain safetensors checkpoint: ``safetensors.torch.load_file`` and ``ts.load`` read it too.

    Example:
        >>> model.save_weights("model.weights.safetensors")  # doctest: +SKIP
    """
    from .._atomic import atomic_write

    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {path!r} already exists and overwrite=False")
    _check_model(model, "save_weights")
    data = _weights_bytes(model)
    atomic_write(path, lambda f: f.write(data))


def load_weights(model, filepath: str | os.PathLike, skip_mismatch: bool = False) -> Any:
    """Load weights saved by ``save_weights`` (or any safetensors file with the model's ``state_dict`` keys,
    e.g. written by PyTorch) into a built model. A ``.keras`` model file works too (its weights are used).
    With ``skip_mismatch``, missing/unexpected keys and shape mismatches are skipped instead of raising.

    Example:
        >>> model.load_weights("model.weights.safetensors")  # doctest: +SKIP
    """
    from ..serialization import from_safetensors, read_bytes

    _check_model(model, "load_weights")
    data, name = read_bytes(filepath, "load_weights")
    if data[:4] == b"PK\x03\x04":
        members, name = _read_archive(filepath, "load_weights")
        data, name = members[_WEIGHTS], f"{name} ({_WEIGHTS})"
    arrays, _ = from_safetensors(data, name)
    if skip_mismatch:
        current = model.state_dict()
        arrays = {k: a for k, a in arrays.items() if k in current and tuple(current[k].shape) == a.shape}
        return model.load_state_dict(arrays, strict=False)
    try:
        return model.load_state_dict(arrays)
    except RuntimeError as e:
        raise ValueError(f"load_weights: {name} does not match the model: {e}") from None
