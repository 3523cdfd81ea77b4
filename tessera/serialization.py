"""``ts.save`` / ``ts.load``: tensors and nested containers in one safetensors file, never pickle.

The tensors (and NumPy arrays) are the safetensors entries; everything else (the nesting of dicts, lists
and tuples, plain Python values, which entry is a ``Parameter``...) is a JSON document in the file's
``__metadata__``. Loading parses JSON and copies bytes: it never executes code. A top-level dict of tensors
(a ``state_dict``) is stored under its own keys, so the file is also a plain safetensors checkpoint that
``safetensors.torch.load_file`` reads; plain safetensors files written by other libraries load as a dict
of tensors.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "tessera"
_VERSION = "1"
_STRUCT_KEY = "tessera.structure"

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
    "BF16": _dt.bfloat16.np,
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
try:  # float8 types exist in every ml_dtypes that Tessera supports, but stay defensive
    import ml_dtypes as _ml

    _ST_TO_NP["F8_E4M3"] = np.dtype(_ml.float8_e4m3fn)
    _ST_TO_NP["F8_E5M2"] = np.dtype(_ml.float8_e5m2)
except (ImportError, AttributeError):  # pragma: no cover
    pass
_SAVABLE = {d: name for name, d in _ST_TO_NP.items()}


def _describe(f) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"


# -- save ---------------------------------------------------------------------------------------------------
class _Packer:
    """Turns an object tree into a JSON-able tree plus a flat ``{key: ndarray}`` dict."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, str] = {}  # id(tensor) -> key: a tensor saved twice loads as one object
        self.keep: list = []  # keeps packed objects alive so ids stay unique

    def key_for(self, path: tuple) -> str:
        base = ".".join(str(p) for p in path) or "tensor"
        key, n = base, 1
        while key in self.arrays or key == "__metadata__":
            key, n = f"{base}#{n}", n + 1
        return key

    def array(self, obj, arr: np.ndarray, path: tuple, where: str) -> str:
        if id(obj) in self.seen:
            return self.seen[id(obj)]
        if arr.dtype not in _SAVABLE:
            raise TypeError(f"save: cannot store an array of dtype {arr.dtype} (at {where})")
        key = self.key_for(path)
        self.arrays[key] = arr
        self.seen[id(obj)] = key
        self.keep.append(obj)
        return key

    def pack(self, obj, path: tuple = ()):
        where = "".join(f"[{p!r}]" for p in path) or "the top level"
        if obj is None or obj is True or obj is False or isinstance(obj, str):
            return obj
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter

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
        if isinstance(obj, _dt.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, tuple):
            return {"tuple": [self.pack(v, path + (i,)) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.pack(v, path + (i,)) for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, int, float))):
                    raise TypeError(
                        f"save: dict keys must be str, int, float, bool or None, got {type(k).__name__} "
                        f"key {k!r} (at {where})"
                    )
                items.append([self.pack(k, path), self.pack(v, path + (k,))])
            node = {"dict": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        raise TypeError(
            f"save: cannot store an object of type {type(obj).__name__} (at {where}); ts.save stores tensors, "
            "NumPy arrays, dicts, lists, tuples, None, bool, int, float and str (it never pickles)"
        )


def to_safetensors(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """The bytes of a safetensors file holding ``arrays`` (any dtype safetensors knows, bfloat16 included)."""
    from safetensors import TensorSpec, serialize

    keep = {}
    specs = {}
    for k, a in arrays.items():
        if a.dtype not in _SAVABLE:
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
    metadata = {"format": _FORMAT, "tessera.version": _VERSION, _STRUCT_KEY: json.dumps(structure)}
    return to_safetensors(packer.arrays, metadata)


def save(obj: Any, f) -> None:
    """Save ``obj`` (a tensor, NumPy array, or nested dict/list/tuple of them and of plain Python values)
    to ``f`` (a path or a writable binary file) as one safetensors file. Writing to a path is atomic: a
    crash in the middle never leaves a half-written file in place of the previous one.

    Example:
        >>> ts.save({"weight": ts.ones(2, 3), "step": 10}, "ckpt.safetensors")  # doctest: +SKIP
        >>> ts.load("ckpt.safetensors")["step"]  # doctest: +SKIP
        10
    """
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
    try:
        entries = deserialize(data)
    except SafetensorError as e:
        raise ValueError(f"{name} is not a valid safetensors file (truncated or corrupt): {e}") from None
    arrays = {}
    for key, info in entries:
        npd = _ST_TO_NP.get(info["dtype"])
        if npd is None:
            raise ValueError(f"{name}: tensor {key!r} has dtype {info['dtype']}, which Tessera cannot load")
        arrays[key] = np.frombuffer(info["data"], dtype=npd).reshape(info["shape"])
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError(f"{name} is not a valid safetensors file: __metadata__ is not a JSON object")
    return arrays, meta


class _Unpacker:
    def __init__(self, arrays: dict[str, np.ndarray], name: str):
        self.arrays = arrays
        self.name = name
        self.objects: dict[tuple, Any] = {}

    def bad(self, what) -> ValueError:
        return ValueError(f"{self.name}: corrupt Tessera structure metadata ({what})")

    def get(self, key):
        if not isinstance(key, str) or key not in self.arrays:
            raise self.bad(f"unknown tensor entry {key!r}")
        return self.arrays[key]

    def unpack(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.unpack(v) for v in node]
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
        if "dtype" in node:
            d = getattr(_dt, str(node["dtype"]), None)
            if not isinstance(d, _dt.dtype):
                raise self.bad(f"dtype {node['dtype']!r}")
            return d
        if "tuple" in node:
            if not isinstance(node["tuple"], list):
                raise self.bad("tuple")
            return tuple(self.unpack(v) for v in node["tuple"])
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
                out[k] = self.unpack(item[1])
            return out
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


def load(f, map_location=None) -> Any:
    """Load what ``ts.save`` stored in ``f`` (a path or a readable binary file). Plain safetensors files
    (e.g. from ``safetensors.torch.save_file``) load as a dict of tensors.

    Pickle files (``torch.save``, ``pickle.dump``) are refused with a clear error: loading never executes
    code. ``map_location`` is accepted for PyTorch compatibility; everything loads on the CPU.

    Example:
        >>> ts.save([ts.arange(3), "hello"], "obj.safetensors")  # doctest: +SKIP
        >>> ts.load("obj.safetensors")  # doctest: +SKIP
        [tensor([0, 1, 2]), 'hello']
    """
    if map_location not in (None, "cpu") and str(map_location) != "cpu":
        raise ValueError(f"load: map_location must be None or 'cpu', got {map_location!r}")
    data, name = read_bytes(f)
    arrays, meta = from_safetensors(data, name)
    structure = meta.get(_STRUCT_KEY)
    if meta.get("format") != _FORMAT or structure is None:
        # A plain safetensors file from another library: its tensors by name.
        return {k: (Tensor._wrap(a) if a.dtype in _dt._FROM_NP else a) for k, a in arrays.items()}
    if meta.get("tessera.version", _VERSION) != _VERSION:
        raise ValueError(
            f"{name} was written by a newer Tessera (format version {meta.get('tessera.version')!r}); "
            f"this version reads format {_VERSION}"
        )
    try:
        tree = json.loads(structure)
    except ValueError as e:
        raise ValueError(f"{name}: corrupt Tessera structure metadata ({e})") from None
    return _Unpacker(arrays, name).unpack(tree)
