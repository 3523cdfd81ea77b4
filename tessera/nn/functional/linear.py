"""Functional linear layers: ``linear``, ``bilinear``, ``embedding`` and ``embedding_bag``."""

from __future__ import annotations

from ... import ops
from ...core import creation
from ...core.dispatch import apply, autocast_inputs, is_tracing
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ...ops import nn_ops as _nn
from ...ops._util import check_tensor
from ...ops.random import EMBEDDING, EMBEDDING_RENORM

__all__ = [
    "linear",
    "bilinear",
    "embedding",
    "embedding_bag",
]


# PyTorch's (c10) names of the dtypes, as its matmul dtype errors print them
_C10_NAMES = {
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
    "bfloat16": "c10::BFloat16",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
    "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}


def _c10(dt) -> str:
    return _C10_NAMES.get(dt.name, dt.name)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features) (or (in_features,):
    the output drops that dimension). All three share one dtype, as in PyTorch (no promotion).

    Example:
        >>> F.linear(ts.ones(2, 3), ts.ones(4, 3)).shape
        tessera.Size([2, 4])
    """
    check_tensor("linear", "input", input)
    check_tensor("linear", "weight", weight)
    input, weight, bias = autocast_inputs("lower", input, weight, bias)  # the bias add stays low precision
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"linear: expected m1 and m2 to have the same dtype, but got: {_c10(input.dtype)} != {_c10(weight.dtype)}"
        )
    if weight.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D, got shape {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        rows = input.numel() // input.shape[-1] if input.ndim and input.shape[-1] else 1
        cols = input.shape[-1] if input.ndim else 1
        out_f = weight.shape[0] if weight.ndim == 2 else 1
        raise RuntimeError(
            f"linear: mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and {weight.shape[-1]}x{out_f}); "
            f"input shape {tuple(input.shape)}, weight shape {tuple(weight.shape)}"
        )
    if bias is not None:
        check_tensor("linear", "bias", bias)
        if bias.dtype is not input.dtype:
            raise RuntimeError(
                f"linear: expected bias to have the dtype of input and weight ({_c10(input.dtype)}), got "
                f"{_c10(bias.dtype)}"
            )
    out = ops.matmul(input, weight.mT if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` with ``weight`` of shape (out, in1, in2).

    Example:
        >>> F.bilinear(ts.ones(2, 3), ts.ones(2, 4), ts.ones(5, 3, 4)).shape
        tessera.Size([2, 5])
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        check_tensor("bilinear", name, t)
    if not (input1.dtype is input2.dtype and input2.dtype is weight.dtype):
        raise RuntimeError(
            f"bilinear: All tensors must have the same dtype, got input1: {_c10(input1.dtype)}, input2: "
            f"{_c10(input2.dtype)}, weight: {_c10(weight.dtype)}"
        )
    if weight.ndim != 3 or input1.ndim == 0 or input2.ndim == 0:
        raise RuntimeError(f"bilinear: expected a 3-D weight (out, in1, in2), got {tuple(weight.shape)}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} do not match weight "
            f"{tuple(weight.shape)} (in1 = weight.shape[1], in2 = weight.shape[2])"
        )
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear: input1 and input2 must have the same batch dimensions, got {tuple(input1.shape)} and "
            f"{tuple(input2.shape)}"
        )
    out = ops.einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` selected by the integer tensor ``input``; ``padding_idx`` rows get no gradient;
    ``scale_grad_by_freq`` divides each row's gradient by how often its index occurs in ``input``;
    ``max_norm`` renormalises the looked-up rows of ``weight`` in place (``sparse`` is accepted, gradients
    are dense).

    Example:
        >>> F.embedding(ts.tensor([[0, 2]]), ts.arange(6.0).reshape(3, 2))
        tensor([[[0., 1.],
                 [4., 5.]]])
    """
    if not isinstance(input, Tensor) or input.dtype.name not in ("int64", "int32"):
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"embedding: expected input to be an int64 or int32 tensor of indices, got {got}")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(weight.shape)}"
        )
    n = weight.shape[0]
    if not is_tracing() and input.numel():  # value checks would specialise a trace
        lo, hi = int(input.min().item()), int(input.max().item())
        if lo < 0 or hi >= n:
            raise IndexError(
                f"embedding: index out of range in self (indices must be in [0, {n}), got {lo if lo < 0 else hi})"
            )
    if max_norm is not None:
        with no_grad():
            apply(
                EMBEDDING_RENORM,
                (weight, input),
                {"max_norm": float(max_norm), "norm_type": float(norm_type)},
            )
    pad = None if padding_idx is None else (padding_idx + n if padding_idx < 0 else padding_idx)
    out = apply(EMBEDDING, (weight, input), {"padding_idx": pad})
    if scale_grad_by_freq and out.requires_grad:
        out = _scale_grad_by_freq(out, input, n)
    return out


def _scale_grad_by_freq(rows: Tensor, indices: Tensor, num_weights: int) -> Tensor:
    """``rows`` unchanged, with the gradient of each row divided by its index's count in ``indices``."""
    flat = indices.reshape(-1).long()
    counts = creation.zeros(num_weights, dtype=rows.dtype).index_add(
        0, flat, creation.ones(flat.shape[0], dtype=rows.dtype)
    )
    scale = (1.0 / counts.index_select(0, flat)).reshape(tuple(indices.shape) + (1,))
    fixed = rows.detach()
    return fixed + (rows - fixed) * scale


def _bag_inputs(input, offsets, per_sample_weights):
    """(flat indices, offsets, flat per-sample weights) for a 1-D input with offsets or a 2-D input."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "embedding_bag: if input is 2D, then offsets has to be None, as input is treated is a "
                f"mini-batch of fixed length sequences. However, found offsets of type {type(offsets).__name__}"
            )
        b, n = input.shape
        offsets = (
            creation.arange(0, b * n, n, dtype=input.dtype) if n else creation.zeros(b, dtype=input.dtype)
        )
        flat = input.reshape(-1)
        psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
        return flat, offsets, psw, False
    if input.ndim != 1:
        raise ValueError(
            f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}"
        )
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    check_tensor("embedding_bag", "offsets", offsets)
    if offsets.ndim != 1:
        raise ValueError(
            f"embedding_bag: offsets has to be a 1D Tensor, but got Tensor of dimension {offsets.ndim}"
        )
    if offsets.dtype.name not in ("int64", "int32"):
        raise TypeError(f"embedding_bag: expected int64 or int32 offsets, got {offsets.dtype.name}")
    return input, offsets, per_sample_weights, True


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embedding rows, without materialising the rows per bag.

    A 1-D ``input`` is split into bags at ``offsets`` (start positions; with ``include_last_offset``
    the last entry ends the last bag); a 2-D ``input`` (B, N) is B bags of N. ``per_sample_weights``
    (``mode='sum'`` only) scales each row; ``padding_idx`` entries are left out (also of a mean's count);
    an empty bag gives zeros. ``max_norm`` renormalises the looked-up rows of ``weight`` in place.

    Example:
        >>> w = ts.arange(6.0).reshape(3, 2)
        >>> F.embedding_bag(ts.tensor([0, 2, 1]), w, ts.tensor([0, 2]), mode="sum")
        tensor([[4., 6.],
                [2., 3.]])
    """
    opname = "embedding_bag"
    check_tensor(opname, "input", input)
    check_tensor(opname, "weight", weight)
    if input.dtype.name not in ("int64", "int32"):
        raise TypeError(
            f"{opname}: expected input to be an int64 or int32 tensor of indices, got {input.dtype}"
        )
    if weight.ndim != 2:
        raise ValueError(f"{opname}: weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{opname}: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None:
        check_tensor(opname, "per_sample_weights", per_sample_weights)
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"{opname}: If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, then it must "
                f"have the same shape as the input ({tuple(input.shape)})"
            )
        if mode != "sum":
            raise NotImplementedError(
                f"{opname}: per_sample_weights was not None. per_sample_weights is only supported for "
                f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
            )
    if scale_grad_by_freq:
        if mode == "max":
            raise ValueError(f"{opname}: max mode does not support scaling the gradient by the frequency")
        raise NotImplementedError(f"{opname}: scale_grad_by_freq=True is not supported")
    num_weights, dim = weight.shape
    if padding_idx is not None:
        if not -num_weights <= padding_idx < num_weights:
            raise ValueError(
                f"{opname}: padding_idx must be within num_embeddings ({num_weights}), got {padding_idx}"
            )
        padding_idx = padding_idx + num_weights if padding_idx < 0 else padding_idx
    flat, offsets, psw, _ = _bag_inputs(input, offsets, per_sample_weights)
    flat, offsets = flat.long(), offsets.long()
    bags = offsets.shape[0] - 1 if include_last_offset else offsets.shape[0]
    if include_last_offset and bags < 0:
        raise ValueError(f"{opname}: include_last_offset needs at least one offset")
    # the op checks the offsets and the index bounds (it reads the values)
    attrs = {
        "num_weights": num_weights,
        "include_last_offset": bool(include_last_offset),
        "padding_idx": padding_idx,
    }
    seg = apply(_nn.EMBEDDING_BAG_SEGMENTS, (flat, offsets), attrs)
    if max_norm is not None:
        with no_grad():
            apply(
                EMBEDDING_RENORM, (weight, flat), {"max_norm": float(max_norm), "norm_type": float(norm_type)}
            )
    rows = apply(EMBEDDING, (weight, flat), {"padding_idx": padding_idx})
    if psw is not None:
        rows = rows * psw.to(rows.dtype).unsqueeze(1)
    if mode == "max":
        pos = apply(_nn.SEGMENT_ARGMAX, (rows, seg), {"num_segments": bags})
        padded = ops.cat([rows, creation.zeros(1, dim, dtype=rows.dtype)], 0)
        return ops.gather(padded, 0, pos)
    total = creation.zeros(bags + 1, dim, dtype=rows.dtype).index_add(0, seg, rows)[:bags]
    if mode == "sum":
        return total
    counts = creation.zeros(bags + 1, dtype=rows.dtype).index_add(
        0, seg, creation.ones(flat.shape[0], dtype=rows.dtype)
    )
    return total / ops.clamp_min(counts[:bags], 1).unsqueeze(1)


# -- torch-level forms (not in ``__all__``): what ``ts.<name>`` should export ------------------------------------
def _torch_embedding(
    weight: Tensor,
    indices: Tensor,
    padding_idx: int = -1,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """``torch.embedding``: weight first; ``padding_idx=-1`` means none (as in ATen)."""
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return embedding(indices, weight, pad, None, 2.0, scale_grad_by_freq, sparse)
