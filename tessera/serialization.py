"""``ts.save`` / ``ts.load``: tensors and nested containers in one safetensors file, never pickle.

The tensors (and NumPy arrays) are the safetensors entries; everything else (the nesting of dicts, lists
and tuples, plain Python values, which entry is a ``Parameter``...) is a JSON document in the file's
``__metadata__``. Loading parses JSON and copies bytes: it never executes code. A top-level dict of tensors
(a ``state_dict``) is stored under its own keys, so the file is also a plain safetensors checkpoint that
``safetensors.torch.load_file`` reads; plain safetensors files written by other libraries load as a dict
of tensors.

Whole modules (``ts.save(model, path)``) are stored the same way: the module's class by import path, the
arguments it was constructed with (recorded by ``Module.__init__``), its children (so a head replaced after
construction comes back), its parameters and buffers. ``ts.load`` rebuilds it by calling the class, which it
imports only when allowed: Tessera's own layers always, other classes and functions once listed with
``add_safe_globals`` / ``safe_globals`` (as ``torch.serialization``), or any importable one with
``weights_only=False``. A module whose class is not allowed loads as its ``state_dict``, with a warning saying
how to get the module back.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import math
import os
import re
import sys
import types
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor

__all__ = [
    "save",
    "load",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
]

_FORMAT = "tessera"
_VERSION = "1"  # files without modules: readable by every Tessera
_MODULE_VERSION = "2"  # files holding whole modules or references to classes and functions
_READABLE = (_VERSION, _MODULE_VERSION)
_STRUCT_KEY = "tessera.structure"
# Deepest nesting of the JSON structure that is accepted (a nested Python list is one level, a module about
# four): far beyond real checkpoints, well within Python's recursion limit.
_MAX_DEPTH = 256

# safetensors header dtype -> NumPy dtype (Tessera's dtypes, plus what NumPy arrays may hold).
_ST_TO_NP: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "I16": np.dtype(np.int16),
    "U16": np.dtype(np.uint16),
    "I32": np.dtype(np.int32),
    "U32": np.dtype(np.uint32),
    "I64": np.dtype(np.int64),
    "U64": np.dtype(np.uint64),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
_SAVABLE = {d: name for name, d in _ST_TO_NP.items()}
_ML_DTYPES = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}


def _add_ml_dtypes() -> None:
    """Add ml_dtypes' types (BF16, F8_*) to the tables, importing ml_dtypes: done on first need rather than
    at import, which would make ``import tessera`` over a second slower."""
    if "BF16" not in _ST_TO_NP:
        import ml_dtypes

        for st, name in _ML_DTYPES.items():
            if hasattr(ml_dtypes, name):
                _ST_TO_NP[st] = np.dtype(getattr(ml_dtypes, name))
                _SAVABLE[_ST_TO_NP[st]] = st


def _savable(dt: np.dtype) -> bool:
    # an ml_dtypes array can only exist once ml_dtypes is imported
    if dt not in _SAVABLE and dt.kind == "V" and "ml_dtypes" in sys.modules:
        _add_ml_dtypes()
    return dt in _SAVABLE


def _np_dtype(st: str):
    if st in _ML_DTYPES:
        _add_ml_dtypes()
    return _ST_TO_NP.get(st)


def _describe(f) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"


# -- allowed globals ----------------------------------------------------------------------------------------
_SAFE_GLOBALS: dict[str, Any] = {}


def _path_of(obj) -> str:
    return f"{getattr(obj, '__module__', None)}:{getattr(obj, '__qualname__', None)}"


def add_safe_globals(safe_globals: list) -> None:
    """Allow ``ts.load`` to rebuild modules of these classes (and to use these functions/classes as
    constructor arguments). Items are classes or functions, or ``(obj, "module:qualname")`` pairs for
    objects saved under another import path.

    Example:
        >>> ts.serialization.add_safe_globals([MyNet])  # doctest: +SKIP
        >>> model = ts.load("model.safetensors")  # doctest: +SKIP
    """
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"add_safe_globals: expected a list, got {type(safe_globals).__name__}")
    for item in safe_globals:
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[1], str):
                raise TypeError(f"add_safe_globals: expected (object, 'module:qualname'), got {item!r}")
            obj, name = item
            name = name if ":" in name else ".".join(name.split(".")[:-1]) + ":" + name.split(".")[-1]
        else:
            obj, name = item, _path_of(item)
        if not callable(obj):
            raise TypeError(f"add_safe_globals: {obj!r} is not a class or function")
        _SAFE_GLOBALS[name] = obj


def get_safe_globals() -> list:
    """The classes and functions allowed with :func:`add_safe_globals`.

    Example:
        >>> ts.serialization.get_safe_globals()  # doctest: +SKIP
        []
    """
    return [obj if _path_of(obj) == name else (obj, name) for name, obj in _SAFE_GLOBALS.items()]


def clear_safe_globals() -> None:
    """Forget every class and function allowed with :func:`add_safe_globals`.

    Example:
        >>> ts.serialization.clear_safe_globals()
    """
    _SAFE_GLOBALS.clear()


class safe_globals:
    """Context manager allowing ``safe_globals`` within its block only (as ``torch.serialization``).

    Example:
        >>> with ts.serialization.safe_globals([MyNet]):  # doctest: +SKIP
        ...     model = ts.load("model.safetensors")
    """

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals
        self._saved: dict[str, Any] | None = None

    def __enter__(self):
        self._saved = dict(_SAFE_GLOBALS)
        add_safe_globals(self.safe_globals)
        return self

    def __exit__(self, *exc) -> None:
        _SAFE_GLOBALS.clear()
        _SAFE_GLOBALS.update(self._saved or {})


def _own_global(obj) -> bool:
    """Tessera's own layers and functions, which ``ts.load`` may always rebuild or reference."""
    from .nn.module import Module

    mod = getattr(obj, "__module__", None) or ""
    if isinstance(obj, type):
        return issubclass(obj, Module) and mod.startswith("tessera.")
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) and (
        mod.startswith(("tessera.ops.", "tessera.nn.functional", "tessera.nn.init", "tessera.core."))
    )


def _importable_path(obj) -> str | None:
    """``module:qualname`` under which ``obj`` can be found again, or None."""
    mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(mod, str) or not isinstance(qual, str) or "<" in qual:
        return None
    return f"{mod}:{qual}"


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in the JSON ``text`` (strings skipped)."""
    depth = deepest = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def parse_structure(text, name: str):
    """The JSON structure stored in a Tessera file, with a clear ``ValueError`` naming ``name`` when it is not
    a string, not JSON, or nested deeper than Tessera ever writes."""
    if not isinstance(text, str):
        raise ValueError(f"{name}: corrupt Tessera structure metadata (not a string)")
    depth = _json_depth(text)
    if depth > _MAX_DEPTH:
        raise ValueError(
            f"{name}: corrupt Tessera structure metadata (nested {depth} levels deep; Tessera reads at most "
            f"{_MAX_DEPTH})"
        )
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{name}: corrupt Tessera structure metadata (nested too deeply)") from None
    except ValueError as e:
        raise ValueError(f"{name}: corrupt Tessera structure metadata ({e})") from None


# -- save ---------------------------------------------------------------------------------------------------
class _Packer:
    """Turns an object tree into a JSON-able tree plus a flat ``{key: ndarray}`` dict."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, str] = {}  # id(tensor) -> key: a tensor saved twice loads as one object
        self.keep: list = []  # keeps packed objects alive so ids stay unique
        self.uses_modules = False  # module, class or function nodes: written as format version 2
        self.modules_seen: set[int] = set()

    def key_for(self, path: tuple) -> str:
        base = ".".join(str(p) for p in path) or "tensor"
        key, n = base, 1
        while key in self.arrays or key == "__metadata__":
            key, n = f"{base}#{n}", n + 1
        return key

    def array(self, obj, arr: np.ndarray, path: tuple, where: str) -> str:
        if id(obj) in self.seen:
            return self.seen[id(obj)]
        if not _savable(arr.dtype):
            raise TypeError(f"save: cannot store an array of dtype {arr.dtype} (at {where})")
        key = self.key_for(path)
        self.arrays[key] = arr
        self.seen[id(obj)] = key
        self.keep.append(obj)
        return key

    def pack(self, obj, path: tuple = (), depth: int = 0):
        where = "".join(f"[{p!r}]" for p in path) or "the top level"
        if depth > _MAX_DEPTH // 2:
            raise ValueError(
                f"save: the object is nested more than {_MAX_DEPTH // 2} levels deep (at {where[:200]}...)"
            )
        depth += 1
        if obj is None or obj is True or obj is False or isinstance(obj, str):
            return obj
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter, is_lazy

            if is_lazy(obj):
                raise ValueError(
                    f"save: cannot store an uninitialized parameter or buffer (at {where}); run a forward "
                    "pass through the lazy module first"
                )
            node = {"tensor": self.array(obj, obj._data, path, where)}
            if obj.requires_grad:
                node["requires_grad"] = True
            if isinstance(obj, Parameter):
                node["parameter"] = True
            return node
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind == "O":
                raise TypeError(f"save: cannot store a NumPy array of Python objects (at {where})")
            return {"ndarray": self.array(obj, obj, path, where)}
        if isinstance(obj, np.generic):
            return {"npscalar": self.array(obj, np.asarray(obj), path, where)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"float": repr(float(obj))}
        if isinstance(obj, complex):
            return {"complex": [self.pack(obj.real, path, depth), self.pack(obj.imag, path, depth)]}
        if isinstance(obj, _dt.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, tuple):
            return {"tuple": [self.pack(v, path + (i,), depth) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.pack(v, path + (i,), depth) for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, int, float))):
                    raise TypeError(
                        f"save: dict keys must be str, int, float, bool or None, got {type(k).__name__} "
                        f"key {k!r} (at {where})"
                    )
                items.append([self.pack(k, path, depth), self.pack(v, path + (k,), depth)])
            node = {"dict": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        from .nn.module import Module, ModuleSpec

        if isinstance(obj, Module):
            node = self.module(obj, path, where, depth)
            if node["args"] is None:  # nothing could rebuild it: refuse now rather than at load time
                raise TypeError(
                    f"save: cannot store {type(obj).__qualname__} as a whole module (at {where}): "
                    f"{node['why']}, and Tessera stores a module as its class and constructor arguments "
                    "(never a pickle). Save its state_dict() instead, or construct it from plain values "
                    "(numbers, strings, tensors, modules, lists and dicts of them)"
                )
            return {"module": node}
        if isinstance(obj, ModuleSpec):
            return {"spec": self.spec(obj, None, path, where, depth)}
        from .core.device import device

        if isinstance(obj, device):
            return {"device": str(obj)}
        if isinstance(obj, functools.partial):
            self.uses_modules = True
            return {
                "partial": [
                    self.pack(obj.func, path, depth),
                    self.pack(list(obj.args), path, depth),
                    self.pack(dict(obj.keywords), path, depth),
                ]
            }
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            return {"global": self.global_path(obj, where)}
        raise TypeError(
            f"save: cannot store an object of type {type(obj).__name__} (at {where}); ts.save stores tensors, "
            "NumPy arrays, modules, dicts, lists, tuples, None, bool, int, float and str (it never pickles)"
        )

    def global_path(self, obj, where: str) -> str:
        path = _importable_path(obj)
        found = _resolve_path(path) if path is not None else None
        if found is not obj:
            raise TypeError(
                f"save: cannot store {obj!r} (at {where}): only classes and functions importable by name "
                "(not lambdas, local or nested ones) can be stored"
            )
        self.uses_modules = True
        return path

    def spec(self, spec, module, path: tuple, where: str, depth: int) -> dict:
        """``{"class", "args", "kwargs"}`` of a constructor spec (args None, with "why", if undescribable);
        a module argument that is a child of ``module`` becomes ``{"child": name}``."""
        node = {"class": self.global_path(spec.cls, where)}
        if spec.args is None:
            node["args"] = None
            node["why"] = spec.why
            return node
        children = {}
        if module is not None:
            children = {id(m): name for name, m in module._modules.items() if m is not None}

        def arg(value, p):
            from .nn.module import ChildArg, Module, _detached_spec

            if isinstance(value, ChildArg):
                child = value.ref()
                if child is not None and id(child) in children:
                    return {"child": children[id(child)]}
                return {"spec": self.spec(value.spec, None, p, where, depth + 1)}
            if isinstance(value, Module):
                if id(value) in children:
                    return {"child": children[id(value)]}
                return {"spec": self.spec(_detached_spec(value), None, p, where, depth + 1)}
            if isinstance(value, (list, tuple)):
                items = [arg(v, p + (i,)) for i, v in enumerate(value)]
                return items if isinstance(value, list) else {"tuple": items}
            if isinstance(value, dict):
                return {
                    "dict": [[self.pack(k, p, depth), arg(v, p + (k,))] for k, v in value.items()],
                    **({"ordered": True} if isinstance(value, OrderedDict) else {}),
                }
            return self.pack(value, p, depth + 1)

        node["args"] = [arg(a, path + ("__args__", i)) for i, a in enumerate(spec.args)]
        node["kwargs"] = arg(dict(spec.kwargs), path + ("__args__",))
        return node

    def module(self, m, path: tuple, where: str, depth: int) -> dict:
        if id(m) in self.modules_seen:
            raise ValueError(
                f"save: module {type(m).__name__} appears twice in the object (at {where}); a module is "
                "stored once (save its state_dict instead)"
            )
        self.modules_seen.add(id(m))
        self.uses_modules = True
        node = {}
        # Parameters and buffers first, so their tensors get the state_dict's key names.
        node["params"] = [
            [name, None if p is None else self.pack(p, path + (name,), depth)]
            for name, p in m._parameters.items()
        ]
        node["buffers"] = [
            [
                name,
                None if b is None else self.pack(b, path + (name,), depth),
                name not in m._non_persistent_buffers,
            ]
            for name, b in m._buffers.items()
        ]
        node["children"] = [
            [name, None if c is None else self.module(c, path + (name,), f"{where}.{name}", depth + 1)]
            for name, c in m._modules.items()
        ]
        spec = m.__dict__.get("_init_spec")
        if spec is None:
            from .nn.module import ModuleSpec

            spec = ModuleSpec(type(m), None, None, f"{type(m).__qualname__} did not record its arguments")
        node.update(self.spec(spec, m, path, where, depth))
        if type(m) is not spec.cls:
            node["type"] = self.global_path(type(m), where)
        node["training"] = bool(m.training)
        node["sig"] = _signature(m)
        return node


def _signature(m) -> str:
    """A string that is equal for two modules built the same way: class, type and constructor arguments
    (tensors by shape and dtype, modules by their own signatures)."""
    from .nn.module import ChildArg, Module, ModuleSpec

    def sig(v, depth=0):
        if depth > 64:
            return "..."
        if isinstance(v, ChildArg):
            return spec_sig(v.spec, depth + 1)
        if isinstance(v, Module):
            return _signature(v)
        if isinstance(v, ModuleSpec):
            return spec_sig(v, depth + 1)
        if isinstance(v, Tensor):
            return f"tensor{tuple(v.shape)}:{v.dtype}"
        if isinstance(v, np.ndarray):
            return f"ndarray{v.shape}:{v.dtype}"
        if isinstance(v, (list, tuple)):
            return type(v).__name__ + "(" + ",".join(sig(x, depth + 1) for x in v) + ")"
        if isinstance(v, dict):
            return "{" + ",".join(f"{k!r}:{sig(x, depth + 1)}" for k, x in v.items()) + "}"
        if isinstance(v, functools.partial):
            return f"partial({sig(v.func)},{sig(v.args, depth + 1)},{sig(v.keywords, depth + 1)})"
        if isinstance(v, (type, types.FunctionType, types.BuiltinFunctionType)):
            return _importable_path(v) or repr(v)
        return repr(v)

    def spec_sig(spec, depth=0):
        if spec.args is None:
            return f"{_path_of(spec.cls)}(?)"
        return f"{_path_of(spec.cls)}({sig(spec.args, depth)},{sig(spec.kwargs, depth)})"

    spec = m.__dict__.get("_init_spec")
    body = spec_sig(spec) if spec is not None else f"{_path_of(type(m))}(?)"
    return f"{_path_of(type(m))}={body}"


def to_safetensors(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """The bytes of a safetensors file holding ``arrays`` (any dtype safetensors knows, bfloat16 included)."""
    from safetensors import TensorSpec, serialize

    keep = {}
    specs = {}
    for k, a in arrays.items():
        if not _savable(a.dtype):
            raise TypeError(f"save: cannot store array {k!r} of dtype {a.dtype}")
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        if a.dtype.byteorder == ">":  # pragma: no cover - big-endian data
            a = a.astype(a.dtype.newbyteorder("<"))
        keep[k] = a  # alive until serialize has copied the bytes
        specs[k] = TensorSpec(dtype=a.dtype.name, shape=a.shape, data_ptr=a.ctypes.data, data_len=a.nbytes)
    return bytes(serialize(specs, metadata=metadata))


def _serialize(obj) -> bytes:
    packer = _Packer()
    structure = packer.pack(obj)
    text = json.dumps(structure)
    if _json_depth(text) > _MAX_DEPTH:
        raise ValueError(f"save: the object is nested more than {_MAX_DEPTH} levels deep")
    version = _MODULE_VERSION if packer.uses_modules else _VERSION
    metadata = {"format": _FORMAT, "tessera.version": version, _STRUCT_KEY: text}
    return to_safetensors(packer.arrays, metadata)


def save(obj: Any, f, pickle_module: Any = None, pickle_protocol: int = 2, **kwargs) -> None:
    """Save ``obj`` to ``f`` (a path or a writable binary file) as one safetensors file: a tensor, NumPy
    array, a whole module, or nested dicts/lists/tuples of them and of plain Python values. Writing to a path
    is atomic: a crash in the middle never leaves a half-written file in place of the previous one.

    ``pickle_module``, ``pickle_protocol`` and PyTorch's private flags are accepted and ignored: nothing is
    pickled. A module is stored as its class, constructor arguments and state; ``ts.load`` rebuilds it.

    Example:
        >>> ts.save({"weight": ts.ones(2, 3), "step": 10}, "ckpt.safetensors")  # doctest: +SKIP
        >>> ts.load("ckpt.safetensors")["step"]  # doctest: +SKIP
        10
        >>> ts.save(ts.nn.Linear(3, 2), "linear.safetensors")  # doctest: +SKIP
        >>> ts.load("linear.safetensors")  # doctest: +SKIP
        Linear(in_features=3, out_features=2, bias=True)
    """
    unknown = set(kwargs) - {"_use_new_zipfile_serialization", "_disable_byteorder_record"}
    if unknown:
        raise TypeError(f"save() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    data = _serialize(obj)
    if isinstance(f, (str, bytes, os.PathLike)):
        from ._atomic import atomic_write

        atomic_write(f, lambda fh: fh.write(data))
    elif hasattr(f, "write"):
        f.write(data)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"save: f must be a path or a writable binary file, got {type(f).__name__}")


# -- load ---------------------------------------------------------------------------------------------------
_PICKLE_HINT = (
    "Tessera never unpickles files, because loading a pickle can execute arbitrary code. Convert it where "
    "you trust it, e.g. in PyTorch: safetensors.torch.save_file(torch.load(path, weights_only=True), "
    "'model.safetensors'), then load that file."
)


def _sniff(data: bytes, name: str) -> None:
    """Raise a clear error for well-known non-safetensors formats (checked before anything is parsed)."""
    if len(data) >= 9:
        # A safetensors file: a little-endian u64 header length, then a JSON header. Its first byte can be
        # 0x80 (a header of 896 bytes, say), so this test must come before the pickle signature's.
        n = int.from_bytes(data[:8], "little")
        if 8 + n <= len(data) and data[8:9] == b"{":
            return
    if len(data) >= 2 and data[0] == 0x80 and 1 <= data[1] <= 5:
        raise ValueError(f"{name} is a pickle file; {_PICKLE_HINT}")
    if data[:4] == b"PK\x03\x04":
        import zipfile

        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            names = []
        if any(n.endswith(".pkl") for n in names):
            raise ValueError(
                f"{name} is a pickle file (a PyTorch zip archive holding data.pkl); {_PICKLE_HINT}"
            )
        if "config.json" in names:
            raise ValueError(f"{name} is a Keras model archive; load it with ts.keras.models.load_model")
        raise ValueError(f"{name} is a zip archive, not a safetensors file")
    if data[:6] == b"\x93NUMPY":
        raise ValueError(f"{name} is a NumPy .npy file, not a safetensors file; read it with numpy.load")


def _read_header(data: bytes, name: str) -> dict:
    if len(data) < 8:
        raise ValueError(f"{name} is not a valid safetensors file: it is only {len(data)} bytes long")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(
            f"{name} is not a valid safetensors file (truncated or corrupt): its header claims {n} bytes "
            f"but the file has {len(data)} bytes"
        )
    try:
        header = json.loads(data[8 : 8 + n])
    except RecursionError:
        raise ValueError(f"{name} is not a valid safetensors file: its header is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{name} is not a valid safetensors file: unreadable header ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name} is not a valid safetensors file: the header is not a JSON object")
    return header


def from_safetensors(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and ``__metadata__`` of safetensors bytes; clear ``ValueError``s naming ``name`` for
    pickles, other formats, and truncated or corrupt files."""
    from safetensors import SafetensorError, deserialize

    _sniff(data, name)
    header = _read_header(data, name)
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise ValueError(
            f"{name} is not a valid safetensors file: __metadata__ is not a JSON object (got "
            f"{type(meta).__name__})"
        )
    bad = [k for k, v in meta.items() if not isinstance(v, str)]
    if bad:
        raise ValueError(
            f"{name} is not a valid safetensors file: __metadata__ value {bad[0]!r} is not a string"
        )
    try:
        entries = deserialize(data)
    except SafetensorError as e:
        raise ValueError(f"{name} is not a valid safetensors file (truncated or corrupt): {e}") from None
    arrays = {}
    for key, info in entries:
        npd = _np_dtype(info["dtype"])
        if npd is None:
            raise ValueError(f"{name}: tensor {key!r} has dtype {info['dtype']}, which Tessera cannot load")
        arrays[key] = np.frombuffer(info["data"], dtype=npd).reshape(info["shape"])
    return arrays, meta


class _NotAllowed(Exception):
    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


def _resolve_path(path: str):
    """The object at ``module:qualname`` among already-imported modules, or None (imports nothing)."""
    mod, _, qual = path.partition(":")
    obj = sys.modules.get(mod)
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


class _Unpacker:
    """Rebuilds what ``_Packer`` stored. ``weights_only`` (the default) imports classes and functions only
    when allowed (Tessera's own, or listed with ``add_safe_globals``); a module that cannot be rebuilt comes
    back as its state_dict, with a warning."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str, weights_only: bool = True):
        self.arrays = arrays
        self.name = name
        self.weights_only = weights_only
        self.objects: dict[tuple, Any] = {}
        self.refused: list[str] = []

    def bad(self, what) -> ValueError:
        return ValueError(f"{self.name}: corrupt Tessera structure metadata ({what})")

    def get(self, key):
        if not isinstance(key, str) or key not in self.arrays:
            raise self.bad(f"unknown tensor entry {key!r}")
        return self.arrays[key]

    # -- classes and functions ---------------------------------------------------------------------------
    def resolve(self, path):
        if not isinstance(path, str) or path.count(":") != 1:
            raise self.bad(f"global {path!r:.80}")
        if path in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[path]
        mod, _, qual = path.partition(":")
        if not re.fullmatch(r"[A-Za-z_][\w.]*", mod) or not re.fullmatch(r"[A-Za-z_][\w.]*", qual):
            raise self.bad(f"global {path!r:.80}")
        own = mod == "tessera" or mod.startswith("tessera.")
        if self.weights_only and not own:
            raise _NotAllowed(path)
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise ValueError(f"{self.name}: cannot import {mod!r} to rebuild {path} ({e})") from None
        obj = _resolve_path(path)
        if obj is None:
            raise ValueError(f"{self.name}: {path} not found (was it renamed since the file was saved?)")
        if _importable_path(obj) != path:
            if not self.weights_only:
                raise ValueError(
                    f"{self.name}: {path} is not found under that name (it names "
                    f"{_importable_path(obj) or type(obj).__name__}); refusing to use it"
                )
            raise _NotAllowed(path)  # a name re-exported from elsewhere
        if self.weights_only and not _own_global(obj):
            raise _NotAllowed(path)  # e.g. a Tessera helper that is neither a layer nor an op
        return obj

    # -- modules -----------------------------------------------------------------------------------------
    def module(self, node, path: str):
        if not isinstance(node, dict):
            raise self.bad("module")
        try:
            return self.build(node, path)
        except _NotAllowed as e:
            self.refused.append(e.path)
            out = OrderedDict()
            self.state_dict(node, "", out)
            return out

    def state_dict(self, node, prefix: str, out: OrderedDict) -> None:
        """The state_dict of a module node (parameters and persistent buffers), without rebuilding it."""
        for name, t in self.items(node, "params", 2):
            if t is not None:
                out[prefix + name] = self.unpack(t).detach()
        for name, t, persistent in self.items(node, "buffers", 3):
            if t is not None and persistent:
                out[prefix + name] = self.unpack(t).detach()
        for name, child in self.items(node, "children", 2):
            if child is not None:
                self.state_dict(child, prefix + name + ".", out)

    def items(self, node, field: str, n: int):
        items = node.get(field, [])
        if not isinstance(items, list) or not all(
            isinstance(it, list) and len(it) == n and isinstance(it[0], str) for it in items
        ):
            raise self.bad(f"module {field}")
        return items

    def construct(self, node, path: str, children: dict | None):
        """``cls(*args, **kwargs)`` of a spec node; ``{"child": name}`` arguments are built from
        ``children`` (and recorded there as built)."""
        from .core.random import get_rng_state, set_rng_state
        from .nn.module import Module

        cls = self.resolve(node.get("class"))
        if not (isinstance(cls, type) and issubclass(cls, Module)):
            raise self.bad(f"{node.get('class')!r} is not a Module class")
        if node.get("args") is None:
            raise ValueError(
                f"{self.name}: cannot rebuild {path or 'the module'} ({cls.__qualname__}): its constructor "
                f"arguments were not stored ({node.get('why')}); load its state_dict into a module you build"
            )
        built = {}

        def arg(v):
            if isinstance(v, dict) and len(v) == 1 and "child" in v:
                name = v["child"]
                if children is None or name not in children or children[name] is None:
                    raise self.bad(f"argument refers to unknown child {name!r:.80}")
                if name not in built:
                    built[name] = self.build(children[name], f"{path}.{name}" if path else name)
                return built[name]
            if isinstance(v, dict) and len(v) == 1 and "spec" in v:
                return self.construct(v["spec"], path, None)[0]
            if isinstance(v, list):
                return [arg(x) for x in v]
            if isinstance(v, dict) and len(v) == 1 and "tuple" in v and isinstance(v["tuple"], list):
                return tuple(arg(x) for x in v["tuple"])
            if isinstance(v, dict) and "dict" in v and isinstance(v["dict"], list):
                out = OrderedDict() if v.get("ordered") else {}
                for item in v["dict"]:
                    if not (isinstance(item, list) and len(item) == 2):
                        raise self.bad("dict item")
                    out[self.unpack(item[0])] = arg(item[1])
                return out
            return self.unpack(v)

        args = arg(node.get("args"))
        kwargs = arg(node.get("kwargs", {"dict": []}))
        if (
            not isinstance(args, list)
            or not isinstance(kwargs, dict)
            or not all(isinstance(k, str) for k in kwargs)
        ):
            raise self.bad("module arguments")
        state = get_rng_state()  # constructors draw initial weights; loading leaves the global RNG alone
        try:
            m = cls(*args, **kwargs)
        except Exception as e:
            raise ValueError(
                f"{self.name}: rebuilding {path or 'the module'} as {cls.__qualname__}(...) failed: "
                f"{type(e).__name__}: {e}"
            ) from e
        finally:
            set_rng_state(state)
        return m, built

    def build(self, node, path: str):
        children = {name: c for name, c in self.items(node, "children", 2)}
        m, built = self.construct(node, path, children)
        self.fill(m, node, path, built)
        return m

    def fill(self, m, node, path: str, built: dict) -> None:
        """Make the rebuilt ``m`` match the saved node: its children (rebuilt where they differ from what
        the constructor made), parameters, buffers, training flag and (lazy modules) final class."""
        from .core.dispatch import STRUCTURE_EPOCH
        from .nn.module import Module

        d = m.__dict__
        STRUCTURE_EPOCH[0] += 1
        new_children = OrderedDict()
        for name, cnode in self.items(node, "children", 2):
            cpath = f"{path}.{name}" if path else name
            if name in built:
                child = built[name]
            elif cnode is None:
                child = None
            else:
                if not isinstance(cnode, dict):
                    raise self.bad("module child")
                cur = d["_modules"].get(name)
                if isinstance(cur, Module) and _signature(cur) == cnode.get("sig"):
                    self.fill(cur, cnode, cpath, {})
                    child = cur
                else:
                    child = self.build(cnode, cpath)
            new_children[name] = child
        for name in list(d["_modules"]):
            if name not in new_children:
                del d["_modules"][name]
                d.pop(name, None)
        d["_modules"].clear()
        for name, child in new_children.items():
            d.pop(name, None)
            d["_modules"][name] = child
            d[name] = child
        params = OrderedDict()
        for name, t in self.items(node, "params", 2):
            value = None if t is None else self.unpack(t)
            if value is not None:
                from .nn.parameter import Parameter

                if not isinstance(value, Parameter):
                    raise self.bad(f"parameter {name!r:.80} is not stored as a Parameter")
            params[name] = value
        buffers, non_persistent = OrderedDict(), set()
        for name, t, persistent in self.items(node, "buffers", 3):
            value = None if t is None else self.unpack(t)
            if value is not None and not isinstance(value, Tensor):
                raise self.bad(f"buffer {name!r:.80}")
            buffers[name] = value
            if not persistent:
                non_persistent.add(name)
        for reg, new in (("_parameters", params), ("_buffers", buffers)):
            for name in d[reg]:
                d.pop(name, None)
            d[reg].clear()
            for name, value in new.items():
                d.pop(name, None)
                d[reg][name] = value
                d[name] = value
        d["_non_persistent_buffers"].clear()
        d["_non_persistent_buffers"].update(non_persistent)
        d["training"] = bool(node.get("training", True))
        if "type" in node:
            target = self.resolve(node["type"])
            if type(m) is not target:
                finish = getattr(m, "_finish_lazy_init", None)
                if finish is None or getattr(m, "cls_to_become", None) is not target:
                    raise ValueError(
                        f"{self.name}: {path or 'the module'} was saved as {target.__qualname__} but rebuilds "
                        f"as {type(m).__qualname__}"
                    )
                finish()

    # -- everything ----------------------------------------------------------------------------------------
    def unpack(self, node, path: str = ""):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.unpack(v, path) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise self.bad(f"unexpected node {node!r:.80}")
        if "tensor" in node:
            key = node["tensor"]
            kind = ("parameter" if node.get("parameter") else "tensor", key, bool(node.get("requires_grad")))
            if kind in self.objects:
                return self.objects[kind]
            arr = self.get(key)
            if arr.dtype not in _dt._FROM_NP:
                raise self.bad(f"tensor {key!r} has dtype {arr.dtype}, which Tessera tensors cannot hold")
            t = Tensor._wrap(arr)
            if node.get("parameter"):
                from .nn.parameter import Parameter

                t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
            elif node.get("requires_grad"):
                t.requires_grad_(True)
            self.objects[kind] = t
            return t
        if "ndarray" in node:
            return self.get(node["ndarray"])
        if "npscalar" in node:
            return self.get(node["npscalar"])[()]
        if "float" in node:
            if node["float"] not in ("nan", "inf", "-inf"):
                raise self.bad(f"float {node['float']!r}")
            return float(node["float"])
        if "complex" in node:
            parts = node["complex"]
            if not (isinstance(parts, list) and len(parts) == 2):
                raise self.bad("complex")
            re_, im = (self.unpack(v) for v in parts)
            if not all(isinstance(v, (int, float)) for v in (re_, im)):
                raise self.bad("complex")
            return complex(re_, im)
        if "dtype" in node:
            d = getattr(_dt, str(node["dtype"]), None)
            if not isinstance(d, _dt.dtype):
                raise self.bad(f"dtype {node['dtype']!r}")
            return d
        if "device" in node:
            from .core.device import device

            try:
                return device(str(node["device"]))
            except Exception:  # noqa: BLE001
                raise self.bad(f"device {node['device']!r:.80}") from None
        if "tuple" in node:
            if not isinstance(node["tuple"], list):
                raise self.bad("tuple")
            return tuple(self.unpack(v, path) for v in node["tuple"])
        if "dict" in node:
            out = OrderedDict() if node.get("ordered") else {}
            items = node["dict"]
            if not isinstance(items, list):
                raise self.bad("dict")
            for item in items:
                if not (isinstance(item, list) and len(item) == 2):
                    raise self.bad("dict item")
                k = self.unpack(item[0])
                if not (k is None or isinstance(k, (str, int, float))):
                    raise self.bad(f"dict key {k!r:.80}")
                out[k] = self.unpack(item[1], f"{path}[{k!r}]")
            return out
        if "module" in node:
            return self.module(node["module"], path)
        if "spec" in node:
            return self.construct(node["spec"], path, None)[0]
        if "global" in node:
            return self.resolve(node["global"])
        if "partial" in node:
            parts = node["partial"]
            if not (isinstance(parts, list) and len(parts) == 3):
                raise self.bad("partial")
            func, args, kwargs = (self.unpack(v, path) for v in parts)
            if not callable(func) or not isinstance(args, list) or not isinstance(kwargs, dict):
                raise self.bad("partial")
            return functools.partial(func, *args, **kwargs)
        raise self.bad(f"unknown node {sorted(node)!r:.80}")


def read_bytes(f, what: str = "load") -> tuple[bytes, str]:
    """The whole content of ``f`` (a path or a readable binary file) and a printable name for errors."""
    name = _describe(f)
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read(), name
    if hasattr(f, "read"):
        if isinstance(f, io.TextIOBase):
            raise TypeError(f"{what}: {name} must be opened in binary mode ('rb')")
        data = f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{what}: {name} must be opened in binary mode")
        return bytes(data), name
    raise TypeError(f"{what}: f must be a path or a readable binary file, got {type(f).__name__}")


def load(
    f,
    map_location=None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args,
) -> Any:
    """Load what ``ts.save`` stored in ``f`` (a path or a readable binary file). Plain safetensors files
    (e.g. from ``safetensors.torch.save_file``) load as a dict of tensors.

    A saved module is rebuilt by calling its class with the stored constructor arguments, then given its
    saved children, parameters and buffers. With ``weights_only`` (the default) only Tessera's own layers and
    the classes and functions allowed with ``ts.serialization.add_safe_globals`` / ``safe_globals`` are
    used; any other module loads as its ``state_dict``, with a warning. ``weights_only=False`` imports any
    class the file names (only for files you trust: their classes' code runs).

    Pickle files (``torch.save``, ``pickle.dump``) are refused with a clear error: loading never executes
    a pickle. ``map_location`` and ``mmap`` are accepted for PyTorch compatibility; everything loads on the
    CPU.

    Example:
        >>> ts.save([ts.arange(3), "hello"], "obj.safetensors")  # doctest: +SKIP
        >>> ts.load("obj.safetensors")  # doctest: +SKIP
        [tensor([0, 1, 2]), 'hello']
    """
    if map_location not in (None, "cpu") and str(map_location) != "cpu":
        raise ValueError(f"load: map_location must be None or 'cpu', got {map_location!r}")
    if pickle_module is not None or pickle_load_args:
        raise TypeError(
            "load: pickle_module and pickle load arguments are not supported (Tessera never unpickles)"
        )
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be a bool or None, got {weights_only!r}")
    data, name = read_bytes(f)
    arrays, meta = from_safetensors(data, name)
    ours = meta.get("format") == _FORMAT or _STRUCT_KEY in meta
    if not ours:
        # A plain safetensors file from another library: its tensors by name.
        return {k: (Tensor._wrap(a) if a.dtype in _dt._FROM_NP else a) for k, a in arrays.items()}
    version = meta.get("tessera.version")
    if meta.get("format") != _FORMAT or version is None:
        raise ValueError(
            f"{name}: corrupt Tessera metadata (format {meta.get('format')!r}, version {version!r})"
        )
    if version not in _READABLE:
        raise ValueError(
            f"{name} was written by a newer Tessera (format version {version!r}); this version reads formats "
            f"{', '.join(_READABLE)}"
        )
    if _STRUCT_KEY not in meta:
        raise ValueError(f"{name}: corrupt Tessera metadata (no {_STRUCT_KEY})")
    tree = parse_structure(meta[_STRUCT_KEY], name)
    unpacker = _Unpacker(arrays, name, weights_only=weights_only is not False)
    try:
        out = unpacker.unpack(tree)
    except RecursionError:
        raise ValueError(f"{name}: corrupt Tessera structure metadata (nested too deeply)") from None
    if unpacker.refused:
        paths = sorted(set(unpacker.refused))
        shown = ", ".join(p.replace(":", ".") for p in paths)
        warnings.warn(
            f"ts.load: {name} holds a whole module that uses {shown}, which is not an allowed global "
            "(weights_only=True allows Tessera's own layers only), so it was loaded as its state_dict. To get "
            "the module back, if you trust these classes/functions, allow them with "
            "ts.serialization.add_safe_globals([...]) or the ts.serialization.safe_globals([...]) context "
            "manager, or pass weights_only=False if you trust the file.",
            UserWarning,
            stacklevel=2,
        )
    return out
