"""Builders for TensorBoard ``Summary`` protos (scalars, histograms, images, text, hparams).

Every message comes from the ``tensorboard`` package's generated protobuf modules; nothing here encodes
protobuf by hand.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._png import encode_png

__all__ = [
    "scalar",
    "histogram",
    "make_histogram",
    "image",
    "images",
    "make_grid",
    "text",
    "hparams",
    "to_numpy",
    "default_bins",
]


def to_numpy(x, what: str) -> np.ndarray:
    """A NumPy array from a Tessera tensor, NumPy array, number or (nested) list."""
    from ..core.tensor import Tensor

    if isinstance(x, Tensor):
        arr = x._data
    elif isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as e:  # noqa: BLE001
            raise TypeError(f"{what}: expected a tensor, array or number, got {type(x).__name__}") from e
    if arr.dtype.kind not in "biufV":
        raise TypeError(f"{what}: expected numeric values, got an array of dtype {arr.dtype}")
    return arr


def _scalar_value(value, what: str) -> float:
    if isinstance(value, numbers.Real):
        return float(value)
    arr = to_numpy(value, what)
    if arr.size != 1:
        raise ValueError(f"{what}: expected a single value, got a tensor of shape {tuple(arr.shape)}")
    return float(arr.reshape(()).astype(np.float64))


def scalar(tag: str, value, new_style: bool = False, double_precision: bool = False):
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto

    v = _scalar_value(value, f"add_scalar({tag!r})")
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=v)])
    if double_precision:
        proto = TensorProto(double_val=[v], dtype="DT_DOUBLE")
    else:
        proto = TensorProto(float_val=[v], dtype="DT_FLOAT")
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=smd)])


_DEFAULT_BINS: list[float] | None = None


def default_bins() -> list[float]:
    """TensorFlow's default histogram bucket edges: +-1e-12 * 1.1**k up to 1e20, and 0."""
    global _DEFAULT_BINS
    if _DEFAULT_BINS is None:
        v, pos = 1e-12, []
        while v < 1e20:
            pos.append(v)
            v *= 1.1
        _DEFAULT_BINS = [-b for b in reversed(pos)] + [0.0] + pos
    return _DEFAULT_BINS


def make_histogram(values: np.ndarray, bins, max_bins: int | None = None, what: str = "add_histogram"):
    """A ``HistogramProto`` of ``values`` with ``np.histogram(values, bins)``; empty outer bins are
    trimmed, keeping one empty bin on the left so the leftmost edge is shown (TensorBoard stores only
    right edges)."""
    from tensorboard.compat.proto.summary_pb2 import HistogramProto

    values = values.reshape(-1).astype(np.float64)
    if values.size == 0:
        raise ValueError(f"{what}: the values are empty")
    if not np.isfinite(values).all():
        raise ValueError(f"{what}: the values contain NaN or infinity")
    if isinstance(bins, str) and bins == "tensorflow":
        bins = default_bins()
    try:
        counts, limits = np.histogram(values, bins=bins)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: invalid bins {bins!r:.60}: {e}") from None
    if max_bins is not None and len(counts) > max_bins:
        sub = len(counts) // max_bins
        rem = len(counts) % sub
        if rem:
            counts = np.pad(counts, (0, sub - rem))
        counts = counts.reshape(-1, sub).sum(axis=-1)
        limits = np.concatenate([limits[:-1:sub], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    start, end = int(nonzero[0]), int(nonzero[-1]) + 1
    if start > 0:
        counts = counts[start - 1 : end]
    else:
        counts = np.concatenate([[0], counts[:end]])
    limits = limits[start : end + 1]
    return HistogramProto(
        min=float(values.min()),
        max=float(values.max()),
        num=int(values.size),
        sum=float(values.sum()),
        sum_squares=float(values.dot(values)),
        bucket_limit=limits.tolist(),
        bucket=counts.astype(np.float64).tolist(),
    )


def histogram(tag: str, values, bins="tensorflow", max_bins: int | None = None):
    from tensorboard.compat.proto.summary_pb2 import Summary

    arr = to_numpy(values, f"add_histogram({tag!r})")
    hist = make_histogram(arr, bins, max_bins, what=f"add_histogram({tag!r})")
    return Summary(value=[Summary.Value(tag=tag, histo=hist)])


def _to_hwc(arr: np.ndarray, dataformats: str, what: str) -> np.ndarray:
    fmt = dataformats.upper()
    if fmt not in ("CHW", "HWC", "HW", "WH"):
        raise ValueError(f"{what}: dataformats must be 'CHW', 'HWC', 'HW' or 'WH', got {dataformats!r}")
    if arr.ndim != len(fmt):
        raise ValueError(
            f"{what}: dataformats {dataformats!r} expects a {len(fmt)}-D image, got shape {tuple(arr.shape)}"
        )
    if fmt == "HW":
        arr = arr[:, :, None]
    elif fmt == "WH":
        arr = arr.T[:, :, None]
    elif fmt == "CHW":
        arr = arr.transpose(1, 2, 0)
    if arr.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"{what}: expected 1 (grey), 3 (RGB) or 4 (RGBA) channels, got shape {tuple(arr.shape)} "
            f"in HWC order (dataformats={dataformats!r})"
        )
    return arr


def image(tag: str, img, dataformats: str = "CHW"):
    """Floats are taken to be in [0, 1] and uint8 in [0, 255], as in PyTorch; values are clipped."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    what = f"add_image({tag!r})"
    arr = _to_hwc(to_numpy(img, what), dataformats, what)
    if arr.dtype != np.uint8:
        arr = (arr.astype(np.float32) * 255.0).clip(0, 255).astype(np.uint8)
    h, w, c = arr.shape
    png = encode_png(np.ascontiguousarray(arr))
    img_proto = Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=png)
    return Summary(value=[Summary.Value(tag=tag, image=img_proto)])


def make_grid(batch: np.ndarray, dataformats: str, what: str, ncols: int = 8) -> np.ndarray:
    """Tile a batch of images (``NCHW``, ``NHWC`` or ``NHW``) into one CHW image, ``ncols`` per row."""
    fmt = dataformats.upper()
    if fmt not in ("NCHW", "NHWC", "NHW"):
        raise ValueError(f"{what}: dataformats must be 'NCHW', 'NHWC' or 'NHW', got {dataformats!r}")
    if batch.ndim != len(fmt):
        raise ValueError(
            f"{what}: dataformats {dataformats!r} expects a {len(fmt)}-D batch, got shape {tuple(batch.shape)}"
        )
    if fmt == "NHW":
        batch = batch[:, None]
    elif fmt == "NHWC":
        batch = batch.transpose(0, 3, 1, 2)
    n, c, h, w = batch.shape
    if n == 0:
        raise ValueError(f"{what}: the batch of images is empty")
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    if nrows * ncols > n:
        batch = np.concatenate([batch, np.zeros((nrows * ncols - n, c, h, w), batch.dtype)])
    return batch.reshape(nrows, ncols, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, nrows * h, ncols * w)


def images(tag: str, batch, dataformats: str = "NCHW"):
    what = f"add_images({tag!r})"
    grid = make_grid(to_numpy(batch, what), dataformats, what)
    return image(tag, grid, dataformats="CHW")


def text(tag: str, text_string: str):
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    if not isinstance(text_string, str):
        raise TypeError(f"add_text({tag!r}): text_string must be a str, got {type(text_string).__name__}")
    smd = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(
            plugin_name="text", content=TextPluginData(version=0).SerializeToString()
        )
    )
    tensor = TensorProto(
        dtype="DT_STRING",
        string_val=[text_string.encode("utf-8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
    )
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=smd, tensor=tensor)])


def _hparams_summary(tag: str, **content):
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    data = HParamsPluginData(version=PLUGIN_DATA_VERSION, **content)
    smd = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME, content=data.SerializeToString())
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=smd)])


def hparams(hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None):
    """The experiment, session-start and session-end summaries of the hparams plugin."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams.api_pb2 import (
        DataType,
        Experiment,
        HParamInfo,
        MetricInfo,
        MetricName,
        Status,
    )
    from tensorboard.plugins.hparams.metadata import (
        EXPERIMENT_TAG,
        SESSION_END_INFO_TAG,
        SESSION_START_INFO_TAG,
    )
    from tensorboard.plugins.hparams.plugin_data_pb2 import SessionEndInfo, SessionStartInfo

    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError(f"add_hparams: hparam_domain_discrete must be a dict, got {type(domains).__name__}")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list):
            raise TypeError(
                f"add_hparams: hparam_domain_discrete[{k!r}] must be a list for a key of hparam_dict"
            )
    ssi = SessionStartInfo()
    infos = []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, bool):
            ssi.hparams[k].bool_value = v
            kind, field = "DATA_TYPE_BOOL", "bool_value"
        elif isinstance(v, numbers.Real):
            ssi.hparams[k].number_value = float(v)
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(v, str):
            ssi.hparams[k].string_value = v
            kind, field = "DATA_TYPE_STRING", "string_value"
        else:
            try:
                number = _scalar_value(v, f"add_hparams: hparam {k!r}")
            except (TypeError, ValueError):
                raise ValueError(
                    f"add_hparams: hparam {k!r} must be an int, float, str, bool or one-element tensor, "
                    f"got {type(v).__name__}"
                ) from None
            ssi.hparams[k].number_value = number
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        domain = None
        if k in domains:
            domain = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domains[k]])
        infos.append(HParamInfo(name=k, type=DataType.Value(kind), domain_discrete=domain))
    metrics = [MetricInfo(name=MetricName(tag=k)) for k in metric_dict]
    exp = _hparams_summary(EXPERIMENT_TAG, experiment=Experiment(hparam_infos=infos, metric_infos=metrics))
    start = _hparams_summary(SESSION_START_INFO_TAG, session_start_info=ssi)
    end = _hparams_summary(
        SESSION_END_INFO_TAG, session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))
    )
    return exp, start, end
