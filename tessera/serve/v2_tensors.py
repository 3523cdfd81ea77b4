"""The KServe v2 / Open Inference Protocol tensor codec: datatypes, JSON tensors and Triton's binary extension.

No web framework here: ``parse_infer_request`` turns a request body (a JSON header, optionally followed by
raw tensors, as ``Inference-Header-Content-Length`` says) into NumPy arrays, checked against a model's
declared inputs; ``encode_infer_response`` does the reverse. Errors are ``V2Error`` (an HTTP status and a
message that names the input and the shapes or datatypes seen).

Binary form (Triton's ``binary_tensor_data`` extension): the raw tensors follow the JSON header in the
order of the inputs (or outputs) that carry ``parameters.binary_data_size``; numbers are little-endian,
row-major; a ``BYTES`` element is a 4-byte little-endian length followed by that many bytes.

Example:
    >>> import numpy as np
    >>> spec = [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}]
    >>> req = parse_infer_request(b'{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", '
    ...                           b'"data": [1, 2]}]}', None, spec, ["y"])
    >>> req.inputs["x"]
    array([[1., 2.]], dtype=float32)
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DATATYPES",
    "V2Error",
    "InferRequest",
    "numpy_dtype",
    "v2_datatype",
    "serialize_bytes",
    "deserialize_bytes",
    "parse_infer_request",
    "encode_infer_response",
]

#: v2 datatype name -> NumPy dtype (``BYTES`` is an object array of ``bytes``; ``BF16`` needs ml_dtypes).
DATATYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
_MAX_DIMS = 32
_MAX_ELEMENTS = 1 << 31


class V2Error(Exception):
    """A request the server refuses: ``status`` (an HTTP code) and a message for ``{"error": ...}``.

    Example:
        >>> V2Error(400, "bad").status
        400
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _bf16():
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes is a Tessera dependency for bfloat16
        return None
    return np.dtype(ml_dtypes.bfloat16)


def numpy_dtype(datatype: str) -> np.dtype:
    """The NumPy dtype of a v2 datatype name (``KeyError`` for an unknown one).

    Example:
        >>> numpy_dtype("INT64")
        dtype('int64')
    """
    if datatype == "BF16" and _bf16() is not None:
        return _bf16()
    return DATATYPES[datatype]


def v2_datatype(dtype) -> str:
    """The v2 datatype name of a NumPy dtype, a dtype name (``"float32"``) or a v2 name (``"FP32"``).

    Example:
        >>> v2_datatype(np.float32), v2_datatype("int64"), v2_datatype("BOOL")
        ('FP32', 'INT64', 'BOOL')
    """
    if isinstance(dtype, str):
        if dtype in DATATYPES or dtype == "BF16":
            return dtype
        if dtype == "bfloat16":
            return "BF16"
        if dtype in ("bytes", "str", "object", "string"):
            return "BYTES"
    name = getattr(dtype, "name", None)
    if name == "bfloat16":
        return "BF16"
    try:
        npd = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"no v2 datatype for {dtype!r}") from None
    if npd.kind in ("O", "S", "U"):
        return "BYTES"
    bf = _bf16()
    if bf is not None and npd == bf:
        return "BF16"
    for k, v in DATATYPES.items():
        if v == npd:
            return k
    raise ValueError(f"no v2 datatype for {npd}")


# -- BYTES -------------------------------------------------------------------------------------------------
def _as_bytes(x) -> bytes:
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytes, bytearray, memoryview, np.bytes_)):
        return bytes(x)
    raise V2Error(500, f"a BYTES tensor holds a {type(x).__name__}, not bytes or str")


def serialize_bytes(arr: np.ndarray) -> bytes:
    """A BYTES tensor in binary form: each element (row-major) as a 4-byte LE length and its bytes.

    Example:
        >>> serialize_bytes(np.array([b"ab", b""], dtype=object))
        b'\\x02\\x00\\x00\\x00ab\\x00\\x00\\x00\\x00'
    """
    parts = []
    for x in np.asarray(arr, dtype=object).reshape(-1):
        b = _as_bytes(x)
        parts.append(struct.pack("<I", len(b)))
        parts.append(b)
    return b"".join(parts)


def deserialize_bytes(buf: bytes | memoryview, where: str = "tensor") -> list[bytes]:
    """The elements of a binary BYTES tensor (``V2Error`` 400 when a length runs past the end).

    Example:
        >>> deserialize_bytes(b"\\x01\\x00\\x00\\x00a")
        [b'a']
    """
    buf = memoryview(buf)
    out, pos, n = [], 0, len(buf)
    while pos < n:
        if pos + 4 > n:
            raise V2Error(400, f"{where}: truncated BYTES element length at byte {pos} of {n}")
        (size,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        if pos + size > n:
            raise V2Error(
                400, f"{where}: BYTES element of {size} bytes at byte {pos} runs past the end ({n})"
            )
        out.append(bytes(buf[pos : pos + size]))
        pos += size
    return out


# -- requests ----------------------------------------------------------------------------------------------
@dataclass
class InferRequest:
    """A decoded inference request: ``inputs`` (name -> array), the ``outputs`` to return with whether each
    is binary (name -> bool, in order), the request ``id`` and ``parameters``.

    Example:
        >>> InferRequest(inputs={}, outputs={"y": False}).outputs
        {'y': False}
    """

    inputs: dict[str, np.ndarray]
    outputs: dict[str, bool]
    id: str | None = None
    parameters: dict = field(default_factory=dict)


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _check_params(where: str, params) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise V2Error(400, f"{where}: 'parameters' must be a JSON object, got {type(params).__name__}")
    for k in ("shared_memory_region", "shared_memory_byte_size", "shared_memory_offset"):
        if k in params:
            raise V2Error(400, f"{where}: the shared-memory extension is not supported (parameter {k!r})")
    return params


def _json_data(where: str, datatype: str, shape: tuple[int, ...], data) -> np.ndarray:
    count = math.prod(shape)
    if not isinstance(data, list):
        data = [data]
    if datatype == "BYTES":
        flat: list = []
        stack = [iter(data)]
        while stack:  # iterative flatten: no recursion limit to hit
            for x in stack[-1]:
                if isinstance(x, list):
                    if len(stack) > _MAX_DIMS:
                        raise V2Error(400, f"{where}: 'data' is nested more than {_MAX_DIMS} deep")
                    stack.append(iter(x))
                    break
                if not isinstance(x, str):
                    raise V2Error(400, f"{where}: BYTES data must be strings, got {type(x).__name__}")
                flat.append(x.encode("utf-8"))
            else:
                stack.pop()
        if len(flat) != count:
            raise V2Error(400, f"{where}: 'data' has {len(flat)} elements, the shape {_shape_text(shape)} "
                               f"needs {count}")  # fmt: skip
        arr = np.empty(count, dtype=object)
        arr[:] = flat
        return arr.reshape(shape)
    try:
        arr = np.array(data)
    except (ValueError, TypeError) as e:
        raise V2Error(400, f"{where}: 'data' is not a regular array of numbers ({e})") from None
    if arr.size != count:
        raise V2Error(400, f"{where}: 'data' has {arr.size} elements, the shape {_shape_text(shape)} "
                           f"needs {count}")  # fmt: skip
    npd = numpy_dtype(datatype)
    if count == 0:
        return np.zeros(shape, dtype=npd)
    kind = arr.dtype.kind
    if datatype == "BOOL":
        if kind != "b":
            raise V2Error(400, f"{where}: BOOL data must be true/false, got {arr.dtype} values")
    elif npd.kind in "iu":
        if kind not in "iu":
            what = "values that are not machine integers" if kind == "O" else f"{arr.dtype} values"
            raise V2Error(400, f"{where}: {datatype} data must be integers, got {what}")
        info = np.iinfo(npd)
        lo, hi = int(arr.min()), int(arr.max())
        if lo < info.min or hi > info.max:
            raise V2Error(400, f"{where}: {datatype} data out of range ({lo}..{hi}, the type holds "
                               f"{info.min}..{info.max})")  # fmt: skip
    else:
        if kind not in "iuf":
            raise V2Error(400, f"{where}: {datatype} data must be numbers, got {arr.dtype} values")
    return arr.astype(npd).reshape(shape)


def _binary_data(where: str, datatype: str, shape: tuple[int, ...], raw: memoryview) -> np.ndarray:
    count = math.prod(shape)
    if datatype == "BYTES":
        items = deserialize_bytes(raw, where)
        if len(items) != count:
            raise V2Error(400, f"{where}: binary BYTES data has {len(items)} elements, the shape "
                               f"{_shape_text(shape)} needs {count}")  # fmt: skip
        arr = np.empty(count, dtype=object)
        arr[:] = items
        return arr.reshape(shape)
    npd = numpy_dtype(datatype).newbyteorder("<")
    if len(raw) != count * npd.itemsize:
        raise V2Error(400, f"{where}: binary_data_size is {len(raw)} bytes, a {datatype} tensor of shape "
                           f"{_shape_text(shape)} takes {count * npd.itemsize}")  # fmt: skip
    if datatype == "BOOL":  # any non-zero byte is true; never keep a bool byte that is not 0 or 1
        return (np.frombuffer(raw, dtype=np.uint8) != 0).reshape(shape)
    arr = np.frombuffer(raw, dtype=npd).reshape(shape)
    return arr.astype(npd.newbyteorder("="), copy=True)


def _parse_shape(where: str, shape) -> tuple[int, ...]:
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS:
        raise V2Error(400, f"{where}: 'shape' must be a list of at most {_MAX_DIMS} integers, got {shape!r}")
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise V2Error(400, f"{where}: 'shape' must hold non-negative integers, got {shape!r}")
    if math.prod(shape) > _MAX_ELEMENTS:
        raise V2Error(400, f"{where}: the shape {_shape_text(shape)} has too many elements")
    return tuple(shape)


def _check_against(where: str, name: str, datatype: str, shape: tuple[int, ...], spec: dict) -> None:
    want_dt = v2_datatype(spec["datatype"])
    want = [int(d) if isinstance(d, int) else -1 for d in spec["shape"]]
    if datatype != want_dt:
        raise V2Error(400, f"{where}: datatype {datatype} does not match the model's {want_dt} for input "
                           f"{name!r} (expected {want_dt}{_shape_text(want)}, got {datatype}"
                           f"{_shape_text(shape)})")  # fmt: skip
    ok = len(want) == len(shape) and all(w < 0 or w == s for w, s in zip(want, shape))
    if not ok:
        raise V2Error(400, f"{where}: shape {_shape_text(shape)} does not match the model's shape "
                           f"{_shape_text(want)} for input {name!r} (-1 is any size)")  # fmt: skip


def parse_infer_request(
    body: bytes,
    header_length: int | None,
    input_specs: list[dict],
    output_names: list[str],
) -> InferRequest:
    """Decode and check an inference request body.

    ``header_length``: the ``Inference-Header-Content-Length`` header (``None``: the whole body is JSON);
    ``input_specs``: the model's inputs (``{"name", "datatype", "shape"}``, -1 for dynamic); every one must
    be given, with that datatype and a matching shape. ``output_names``: the model's outputs (a requested
    output must be one). Raises ``V2Error`` (400) naming the input and what was seen.

    Example:
        >>> spec = [{"name": "x", "datatype": "INT32", "shape": [2]}]
        >>> parse_infer_request(b'{"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", '
        ...                     b'"data": [1, 2]}], "outputs": [{"name": "y"}]}', None, spec, ["y"]).outputs
        {'y': False}
    """
    n = len(body)
    if header_length is None:
        header_length = n
    if header_length < 0 or header_length > n:
        raise V2Error(400, f"Inference-Header-Content-Length is {header_length}, the body has {n} bytes")
    try:
        req = json.loads(bytes(body[:header_length]))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise V2Error(400, f"malformed JSON in the inference request: {e}") from None
    if not isinstance(req, dict):
        raise V2Error(400, f"the inference request must be a JSON object, got {type(req).__name__}")
    rid = req.get("id")
    if rid is not None and not isinstance(rid, str):
        raise V2Error(400, f"'id' must be a string, got {type(rid).__name__}")
    params = _check_params("the request", req.get("parameters"))
    inputs = req.get("inputs")
    if not isinstance(inputs, list):
        raise V2Error(400, "the inference request needs 'inputs', a list of tensors")
    specs = {s["name"]: s for s in input_specs}
    binary = memoryview(body)[header_length:]
    pos = 0
    arrays: dict[str, np.ndarray] = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, dict):
            raise V2Error(400, f"inputs[{i}] must be a JSON object, got {type(t).__name__}")
        name = t.get("name")
        if not isinstance(name, str):
            raise V2Error(400, f"inputs[{i}]: 'name' must be a string, got {name!r}")
        where = f"input {name!r}"
        if name not in specs:
            raise V2Error(400, f"unknown input {name!r} (the model's inputs: {', '.join(specs) or 'none'})")
        if name in arrays:
            raise V2Error(400, f"{where} is given twice")
        datatype = t.get("datatype")
        if not isinstance(datatype, str) or (datatype not in DATATYPES and datatype != "BF16"):
            raise V2Error(
                400, f"{where}: unknown datatype {datatype!r} (one of {', '.join(DATATYPES)}, BF16)"
            )
        shape = _parse_shape(where, t.get("shape"))
        _check_against(where, name, datatype, shape, specs[name])
        tparams = _check_params(where, t.get("parameters"))
        size = tparams.get("binary_data_size")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise V2Error(400, f"{where}: binary_data_size must be a non-negative integer, got {size!r}")
            if "data" in t:
                raise V2Error(400, f"{where} has both 'data' and binary_data_size")
            if pos + size > len(binary):
                raise V2Error(400, f"{where}: binary_data_size {size} runs past the end of the body "
                                   f"({len(binary) - pos} binary bytes left)")  # fmt: skip
            arrays[name] = _binary_data(where, datatype, shape, binary[pos : pos + size])
            pos += size
        else:
            if "data" not in t:
                raise V2Error(400, f"{where} has neither 'data' nor parameters.binary_data_size")
            if datatype == "BF16":
                raise V2Error(400, f"{where}: BF16 tensors must be sent as binary data")
            arrays[name] = _json_data(where, datatype, shape, t["data"])
    if pos != len(binary):
        raise V2Error(400, f"the body has {len(binary)} bytes of binary tensor data, the inputs' "
                           f"binary_data_size add up to {pos}")  # fmt: skip
    missing = [k for k in specs if k not in arrays]
    if missing:
        raise V2Error(400, f"missing input {missing[0]!r} (the model's inputs: {', '.join(specs)})")

    default_binary = params.get("binary_data_output", False)
    if not isinstance(default_binary, bool):
        raise V2Error(400, f"parameters.binary_data_output must be true or false, got {default_binary!r}")
    requested = req.get("outputs")
    outputs: dict[str, bool] = {}
    if requested is None:
        outputs = {o: default_binary for o in output_names}
    else:
        if not isinstance(requested, list):
            raise V2Error(400, "'outputs' must be a list of requested outputs")
        for i, o in enumerate(requested):
            if not isinstance(o, dict) or not isinstance(o.get("name"), str):
                raise V2Error(400, f"outputs[{i}] must be an object with a string 'name'")
            oname = o["name"]
            if oname not in output_names:
                raise V2Error(400, f"unknown output {oname!r} requested (the model's outputs: "
                                   f"{', '.join(output_names)})")  # fmt: skip
            oparams = _check_params(f"output {oname!r}", o.get("parameters"))
            if "classification" in oparams:
                raise V2Error(400, f"output {oname!r}: the classification extension is not supported")
            b = oparams.get("binary_data", default_binary)
            if not isinstance(b, bool):
                raise V2Error(
                    400, f"output {oname!r}: parameters.binary_data must be true or false, got {b!r}"
                )
            outputs[oname] = b
    return InferRequest(inputs=arrays, outputs=outputs, id=rid, parameters=params)


# -- responses ---------------------------------------------------------------------------------------------
def _json_values(name: str, arr: np.ndarray, datatype: str) -> list:
    if datatype == "BYTES":
        out = []
        for x in arr.reshape(-1):
            if isinstance(x, str):
                out.append(x)
                continue
            try:
                out.append(_as_bytes(x).decode("utf-8"))
            except UnicodeDecodeError:
                raise V2Error(400, f"output {name!r} holds bytes that are not UTF-8; request it with "
                                   f"parameters.binary_data = true") from None  # fmt: skip
        return out
    if datatype == "BF16":
        raise V2Error(400, f"output {name!r} is BF16, which is only sent as binary data; request it with "
                           f"parameters.binary_data = true")  # fmt: skip
    flat = arr.reshape(-1)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(flat)):
        raise V2Error(500, f"output {name!r} holds NaN or infinity, which JSON cannot carry; request it "
                           f"with parameters.binary_data = true")  # fmt: skip
    return flat.tolist()


def encode_infer_response(
    model_name: str,
    model_version: str,
    outputs: dict[str, np.ndarray],
    binary: dict[str, bool],
    request_id: str | None = None,
) -> tuple[bytes, int | None]:
    """The response body for ``binary`` (output name -> binary or JSON, in order) and the value of
    ``Inference-Header-Content-Length`` (``None`` when every output is JSON).

    Example:
        >>> body, n = encode_infer_response("m", "1", {"y": np.array([1.5], np.float32)}, {"y": False})
        >>> json.loads(body)["outputs"], n
        ([{'name': 'y', 'datatype': 'FP32', 'shape': [1], 'data': [1.5]}], None)
    """
    out_json, blobs = [], []
    for name, as_binary in binary.items():
        arr = np.asarray(outputs[name])
        try:
            datatype = v2_datatype(arr.dtype)
        except ValueError:
            raise V2Error(500, f"output {name!r} has dtype {arr.dtype}, which has no v2 datatype") from None
        entry = {"name": name, "datatype": datatype, "shape": [int(d) for d in arr.shape]}
        if as_binary:
            if datatype == "BYTES":
                raw = serialize_bytes(arr)
            else:
                raw = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = _json_values(name, arr, datatype)
        out_json.append(entry)
    resp: dict = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        resp["id"] = request_id
    resp["outputs"] = out_json
    header = json.dumps(resp, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)
