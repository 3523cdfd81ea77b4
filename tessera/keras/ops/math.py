"""``keras.ops`` math: segment reductions, ``top_k``/``in_top_k``, ``logsumexp``, ``cdist``, sequence
framing, Fourier transforms (``fft``, ``rfft``, ``stft``...: complex values travel as ``(real, imag)``
pairs, as in Keras), ``rsqrt``, the error functions, ``logdet`` and complex views.

The transforms use Tessera's FFT ops; when a gradient is needed (Tessera's FFT ops do not differentiate
through complex tensors) they run as products with the DFT's cosine/sine matrices, which autograd follows.

Example:
    >>> from tessera.keras import ops
    >>> re, im = ops.rfft(ts.tensor([1.0, 2.0, 3.0, 4.0]))
    >>> re.tolist(), im.tolist()
    ([10.0, -2.0, -2.0], [0.0, 2.0, 0.0])
"""

from __future__ import annotations

import numpy as np

from ... import fft as _fft
from ... import ops as _T
from ...core import creation
from ...core import dtypes as _dt
from ...core.grad_mode import is_grad_enabled
from ...core.tensor import Tensor
from .. import config
from ..layers.base import symbolic_op
from ._convert import standardize_dtype, to_tensor

__all__ = [
    "cdist",
    "erf",
    "erfc",
    "erfinv",
    "extract_sequences",
    "fft",
    "fft2",
    "ifft2",
    "in_top_k",
    "irfft",
    "istft",
    "logdet",
    "logsumexp",
    "rfft",
    "rsqrt",
    "segment_max",
    "segment_min",
    "segment_prod",
    "segment_sum",
    "stft",
    "top_k",
    "view_as_complex",
    "view_as_real",
]


def _floating(x: Tensor) -> Tensor:
    """``x`` itself when it is floating, else ``x`` in ``floatx()`` (Keras's result of float math on ints)."""
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return x
    return x.to(standardize_dtype(config.floatx()))


def _axes(fn: str, axis, ndim: int):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"keras.ops.{fn}: axis {axis!r} is out of range for an input of rank {ndim}")
        out.append(int(a) % max(ndim, 1))
    return tuple(out)


# -- segment reductions --------------------------------------------------------------------------------------
_SEGMENT_INIT = {"sum": 0.0, "amax": -np.inf, "amin": np.inf, "prod": 1.0}


def _segment(fn: str, reduce: str, data, segment_ids, num_segments, sorted) -> Tensor:
    data = to_tensor(data)
    ids = to_tensor(segment_ids)
    if ids.ndim != 1:
        raise ValueError(
            f"keras.ops.{fn}: `segment_ids` must be a 1-D vector, got shape {tuple(ids.shape)}; flatten the "
            "input (data.reshape((-1,) + data.shape[segment_ids.ndim:])) or map over it"
        )
    if data.ndim < 1 or int(data.shape[0]) != int(ids.shape[0]):
        raise ValueError(
            f"keras.ops.{fn}: `segment_ids` and `data` must have the same leading dimension, got "
            f"{tuple(ids.shape)} and {tuple(data.shape)}"
        )
    if ids.dtype.is_floating_point or ids.dtype is _dt.bool:
        raise TypeError(f"keras.ops.{fn}: `segment_ids` must be integers, got dtype {ids.dtype.name}")
    if num_segments is None:
        num_segments = int(ids.max().item()) + 1 if ids.numel() else 0  # a host read that decides the shape
    elif not isinstance(num_segments, (int, np.integer)) or num_segments < 0:
        raise ValueError(f"keras.ops.{fn}: `num_segments` must be a non-negative int, got {num_segments!r}")
    num_segments = int(num_segments)
    ids = ids.to(_dt.int64)
    # out-of-range ids (negative or >= num_segments) go to one extra row that is dropped
    ids = _T.where((ids >= 0) & (ids < num_segments), ids, num_segments)
    tail = tuple(int(d) for d in data.shape[1:])
    work = data if data.dtype.is_floating_point else data.to(_dt.float32)
    init = creation.full((num_segments + 1,) + tail, _SEGMENT_INIT[reduce], dtype=work.dtype)
    index = ids.reshape((-1,) + (1,) * len(tail)).expand(tuple(data.shape))
    out = init.scatter_reduce(0, index, work, reduce)[:num_segments]
    return out if out.dtype is data.dtype else out.to(data.dtype)


def _make_segment(name: str, reduce: str, what: str, example: str):
    def seg(data, segment_ids, num_segments: int | None = None, sorted: bool = False) -> Tensor:
        return _segment(name, reduce, data, segment_ids, num_segments, sorted)

    seg.__name__ = seg.__qualname__ = name
    seg.__doc__ = f"""The {what} of the rows of ``data`` in each segment: ``out[i]`` combines the rows whose
    ``segment_ids`` equal ``i`` (``num_segments`` rows; by default ``max(segment_ids) + 1``; out-of-range ids
    are ignored). Computed in float32 for integer data, as Keras's torch backend does.

    Example:
        >>> {name}(ts.tensor([1.0, 2.0, 3.0]), ts.tensor([0, 0, 1])).tolist()
        {example}
    """
    seg.__module__ = __name__
    return symbolic_op(seg)


segment_sum = _make_segment("segment_sum", "sum", "sum", "[3.0, 3.0]")
segment_max = _make_segment("segment_max", "amax", "maximum", "[2.0, 3.0]")
segment_min = _make_segment("segment_min", "amin", "minimum", "[1.0, 3.0]")
segment_prod = _make_segment("segment_prod", "prod", "product", "[2.0, 3.0]")


# -- top k ---------------------------------------------------------------------------------------------------
def _check_k(fn: str, k, x: Tensor) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"keras.ops.{fn}: `k` must be an int, got {k!r}")
    if x.ndim < 1 or not 0 <= k <= int(x.shape[-1]):
        raise ValueError(f"keras.ops.{fn}: k={k} is out of range for an input of shape {tuple(x.shape)}")
    return int(k)


@symbolic_op
def top_k(x, k: int, sorted: bool = True) -> tuple:
    """The ``k`` largest entries of ``x`` along the last axis and their indices (int32).

    Example:
        >>> v, i = top_k(ts.tensor([3.0, 1.0, 2.0]), 2)
        >>> v.tolist(), i.tolist()
        ([3.0, 2.0], [0, 2])
    """
    x = to_tensor(x)
    k = _check_k("top_k", k, x)
    values, indices = _T.topk(x, k, dim=-1, largest=True, sorted=True)
    return values, indices.to(_dt.int32)


@symbolic_op
def in_top_k(targets, predictions, k: int) -> Tensor:
    """Whether each ``targets[i]`` is among the ``k`` largest ``predictions[i]`` (ties count as inside).

    Example:
        >>> in_top_k(ts.tensor([0, 1]), ts.tensor([[0.9, 0.1], [0.8, 0.2]]), 1).tolist()
        [True, False]
    """
    targets = to_tensor(targets)
    predictions = to_tensor(predictions)
    if predictions.ndim != 2 or targets.ndim != 1 or int(targets.shape[0]) != int(predictions.shape[0]):
        raise ValueError(
            "keras.ops.in_top_k: expected `targets` of shape (batch,) and `predictions` of shape "
            f"(batch, classes), got {tuple(targets.shape)} and {tuple(predictions.shape)}"
        )
    if targets.dtype.is_floating_point:
        raise TypeError(f"keras.ops.in_top_k: `targets` must be integers, got dtype {targets.dtype.name}")
    k = _check_k("in_top_k", k, predictions)
    n_classes = int(predictions.shape[-1])
    if targets.numel() and (int(targets.min().item()) < 0 or int(targets.max().item()) >= n_classes):
        raise ValueError(
            f"keras.ops.in_top_k: `targets` must be class indices in [0, {n_classes}), got {targets.tolist()}"
        )
    if k == 0:
        return creation.zeros(tuple(targets.shape), dtype=_dt.bool)
    kth = _T.topk(predictions, k, dim=-1).values[:, -1]
    target_values = _T.take_along_dim(predictions, targets.to(_dt.int64)[:, None], dim=-1)[:, 0]
    return target_values >= kth


# -- reductions and element-wise -----------------------------------------------------------------------------
@symbolic_op
def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x), axis))`` computed stably.

    Example:
        >>> round(logsumexp(ts.tensor([0.0, 0.0])).item(), 4)
        0.6931
    """
    x = _floating(to_tensor(x))
    axes = _axes("logsumexp", axis, x.ndim)
    if x.ndim == 0:
        return x.clone()
    return _T.logsumexp(x, dim=axes, keepdim=keepdims)


def _unary(name: str, op, what: str, example: str):
    def fn(x) -> Tensor:
        x = to_tensor(x)
        if x.dtype.is_complex:
            raise TypeError(f"keras.ops.{name}: complex input (dtype {x.dtype.name}) is not supported")
        return op(_floating(x))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"""{what}, element-wise (integer inputs give ``floatx()``).

    Example:
        >>> {name}(ts.tensor([{example[0]}])).tolist()
        [{example[1]}]
    """
    fn.__module__ = __name__
    return symbolic_op(fn)


rsqrt = _unary("rsqrt", _T.rsqrt, "``1 / sqrt(x)``", ("4.0", "0.5"))
erf = _unary("erf", _T.erf, "The error function", ("0.0", "0.0"))
erfc = _unary("erfc", _T.erfc, "The complementary error function ``1 - erf(x)``", ("0.0", "1.0"))
erfinv = _unary("erfinv", _T.erfinv, "The inverse error function", ("0.0", "0.0"))


@symbolic_op
def logdet(x) -> Tensor:
    """``log(det(x))`` of square matrices ``(..., M, M)`` (NaN for a negative determinant).

    Example:
        >>> round(logdet(ts.tensor([[2.0, 0.0], [0.0, 3.0]])).item(), 4)
        1.7918
    """
    x = to_tensor(x)
    if x.ndim < 2 or int(x.shape[-1]) != int(x.shape[-2]):
        raise ValueError(
            f"keras.ops.logdet: expected square matrices (..., M, M), got shape {tuple(x.shape)}"
        )
    return _T.logdet(_floating(x))


@symbolic_op
def cdist(x, y) -> Tensor:
    """Euclidean distances between the rows of ``x`` ``(..., P, D)`` and ``y`` ``(..., R, D)``: ``(..., P, R)``
    (batch dimensions broadcast).

    Example:
        >>> cdist(ts.tensor([[0.0, 0.0]]), ts.tensor([[3.0, 4.0]])).tolist()
        [[5.0]]
    """
    x, y = to_tensor(x), to_tensor(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(
            f"keras.ops.cdist: inputs must have rank >= 2, got x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}"
        )
    if int(x.shape[-1]) != int(y.shape[-1]):
        raise ValueError(
            "keras.ops.cdist: the last dimension of the inputs must match, got "
            f"x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}"
        )
    try:
        np.broadcast_shapes(tuple(x.shape[:-2]), tuple(y.shape[:-2]))
    except ValueError:
        raise ValueError(
            "keras.ops.cdist: the batch dimensions must broadcast, got "
            f"x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}"
        ) from None
    dt = _dt.promote_types(_floating(x).dtype, _floating(y).dtype)
    x, y = x.to(dt), y.to(dt)
    diff = x.unsqueeze(-2) - y.unsqueeze(-3)
    return _T.sqrt((diff * diff).sum(-1))


@symbolic_op
def extract_sequences(x, sequence_length: int, sequence_stride: int) -> Tensor:
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last axis:
    ``(..., num_sequences, sequence_length)``.

    Example:
        >>> extract_sequences(ts.arange(5), 2, 2).tolist()
        [[0, 1], [2, 3]]
    """
    x = to_tensor(x)
    for arg, v in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"keras.ops.extract_sequences: `{arg}` must be a positive int, got {v!r}")
    if x.ndim < 1:
        raise ValueError(
            f"keras.ops.extract_sequences: input must have rank >= 1, got shape {tuple(x.shape)}"
        )
    if sequence_length > int(x.shape[-1]):
        raise ValueError(
            f"keras.ops.extract_sequences: sequence_length={sequence_length} is longer than the last axis of "
            f"shape {tuple(x.shape)}"
        )
    return x.unfold(x.ndim - 1, int(sequence_length), int(sequence_stride)).contiguous()


# -- Fourier transforms --------------------------------------------------------------------------------------
def _pair(fn: str, x, min_rank: int = 1) -> tuple[Tensor, Tensor]:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            f"keras.ops.{fn}: input `x` should be a tuple of two tensors - real and imaginary; got {type(x).__name__}"
        )
    re, im = to_tensor(x[0]), to_tensor(x[1])
    if tuple(re.shape) != tuple(im.shape):
        raise ValueError(
            f"keras.ops.{fn}: the real and imaginary parts must have the same shape, got x[0].shape = "
            f"{tuple(re.shape)}, x[1].shape = {tuple(im.shape)}"
        )
    if not re.dtype.is_floating_point or not im.dtype.is_floating_point:
        raise ValueError(
            f"keras.ops.{fn}: both parts must be float tensors, got {re.dtype.name} and {im.dtype.name}"
        )
    if re.ndim < min_rank:
        raise ValueError(f"keras.ops.{fn}: input should have rank >= {min_rank}, got shape {tuple(re.shape)}")
    if re.dtype is not im.dtype:
        dt = _dt.promote_types(re.dtype, im.dtype)
        re, im = re.to(dt), im.to(dt)
    return re, im


def _needs_grad(*ts) -> bool:
    return is_grad_enabled() and any(t.requires_grad for t in ts)


def _cos_sin(n_in: int, n_out: int, n: int, dtype) -> tuple[Tensor, Tensor]:
    """``cos``/``sin`` of ``2 pi j k / n`` for ``j < n_in`` (rows), ``k < n_out``: constant DFT matrices."""
    jk = np.outer(np.arange(n_in), np.arange(n_out)) % n  # the remainder keeps the angles exact for large n
    theta = 2.0 * np.pi * jk / n
    return creation.tensor(np.cos(theta), dtype=dtype), creation.tensor(np.sin(theta), dtype=dtype)


def _c2c_last(re: Tensor, im: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
    n = int(re.shape[-1])
    if not _needs_grad(re, im):
        c = (_fft.ifft if inverse else _fft.fft)(_T.complex(re, im))
        return _T.real(c).contiguous(), _T.imag(c).contiguous()
    cos, sin = _cos_sin(n, n, n, re.dtype)
    if inverse:
        return (re @ cos - im @ sin) / n, (im @ cos + re @ sin) / n
    return re @ cos + im @ sin, im @ cos - re @ sin


def _c2c(re: Tensor, im: Tensor, axes, inverse: bool) -> tuple[Tensor, Tensor]:
    for ax in axes:
        re, im = re.movedim(ax, -1), im.movedim(ax, -1)
        re, im = _c2c_last(re, im, inverse)
        re, im = re.movedim(-1, ax), im.movedim(-1, ax)
    return re, im


@symbolic_op
def fft(x) -> tuple:
    """The discrete Fourier transform along the last axis of the complex input ``x = (real, imag)``;
    returns ``(real, imag)``.

    Example:
        >>> re, im = fft((ts.tensor([1.0, 0.0]), ts.tensor([0.0, 0.0])))
        >>> re.tolist(), im.tolist()
        ([1.0, 1.0], [0.0, 0.0])
    """
    re, im = _pair("fft", x)
    return _c2c(re, im, (-1,), inverse=False)


@symbolic_op
def fft2(x) -> tuple:
    """The 2-D discrete Fourier transform over the last two axes of ``x = (real, imag)``.

    Example:
        >>> re, im = fft2((ts.ones((2, 2)), ts.zeros((2, 2))))
        >>> re.tolist()
        [[4.0, 0.0], [0.0, 0.0]]
    """
    re, im = _pair("fft2", x, min_rank=2)
    return _c2c(re, im, (-1, -2), inverse=False)


@symbolic_op
def ifft2(x) -> tuple:
    """The inverse 2-D discrete Fourier transform over the last two axes of ``x = (real, imag)``.

    Example:
        >>> re, im = ifft2((ts.full((2, 2), 4.0), ts.zeros((2, 2))))
        >>> re.tolist()
        [[4.0, 0.0], [0.0, 0.0]]
    """
    re, im = _pair("ifft2", x, min_rank=2)
    return _c2c(re, im, (-1, -2), inverse=True)


def _fft_length(fn: str, v) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"keras.ops.{fn}: `fft_length` must be a positive int, got {v!r}")
    return int(v)


def _fit_last(x: Tensor, n: int) -> Tensor:
    """``x`` cut or zero-padded to ``n`` entries along its last axis."""
    m = int(x.shape[-1])
    if m > n:
        return x[..., :n]
    if m < n:
        return _T.pad(x, (0, n - m))
    return x


def _rfft_last(x: Tensor, n: int) -> tuple[Tensor, Tensor]:
    x = _fit_last(x, n)
    if not _needs_grad(x):
        c = _fft.rfft(x, n=n, dim=-1)
        return _T.real(c).contiguous(), _T.imag(c).contiguous()
    cos, sin = _cos_sin(n, n // 2 + 1, n, x.dtype)
    return x @ cos, -(x @ sin)


def _irfft_last(re: Tensor, im: Tensor, n: int) -> Tensor:
    bins = n // 2 + 1
    re, im = _fit_last(re, bins), _fit_last(im, bins)
    if not _needs_grad(re, im):
        return _fft.irfft(_T.complex(re, im), n=n, dim=-1)
    cos, sin = _cos_sin(bins, n, n, re.dtype)
    # each bin but DC and (for even n) Nyquist stands for itself and its conjugate mirror
    w = np.full((bins, 1), 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    w = creation.tensor(w / n, dtype=re.dtype)
    return re @ (cos * w) - im @ (sin * w)


@symbolic_op
def rfft(x, fft_length: int | None = None) -> tuple:
    """The real-input Fourier transform along the last axis (cut or zero-padded to ``fft_length``): the
    ``fft_length // 2 + 1`` non-negative frequency bins as ``(real, imag)``.

    Example:
        >>> re, im = rfft(ts.tensor([1.0, 1.0]))
        >>> re.tolist(), im.tolist()
        ([2.0, 0.0], [0.0, 0.0])
    """
    x = to_tensor(x)
    n = _fft_length("rfft", fft_length)
    if x.ndim < 1:
        raise ValueError(f"keras.ops.rfft: input should have rank >= 1, got shape {tuple(x.shape)}")
    if x.dtype.is_complex:
        raise TypeError(f"keras.ops.rfft: the input must be real, got dtype {x.dtype.name}")
    x = _floating(x)
    return _rfft_last(x, n if n is not None else int(x.shape[-1]))


@symbolic_op
def irfft(x, fft_length: int | None = None) -> Tensor:
    """The inverse of ``rfft``: a real signal of ``fft_length`` samples (default ``2 * (bins - 1)``) from the
    non-negative frequency bins ``x = (real, imag)``.

    Example:
        >>> irfft((ts.tensor([2.0, 0.0]), ts.tensor([0.0, 0.0]))).tolist()
        [1.0, 1.0]
    """
    re, im = _pair("irfft", x)
    n = _fft_length("irfft", fft_length)
    return _irfft_last(re, im, n if n is not None else 2 * (int(re.shape[-1]) - 1))


def _window(fn: str, window, sequence_length: int, dtype) -> Tensor | None:
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(
                f"keras.ops.{fn}: a string `window` must be 'hann' or 'hamming', got window={window!r}"
            )
        a = 0.5 if window == "hann" else 0.54
        n = np.arange(sequence_length)
        w = a - (1.0 - a) * np.cos(2.0 * np.pi * n / sequence_length)  # periodic, as Keras's windows
        return creation.tensor(w, dtype=dtype)
    win = to_tensor(window, dtype=dtype)
    if win.ndim != 1 or int(win.shape[0]) != sequence_length:
        raise ValueError(
            f"keras.ops.{fn}: the shape of `window` must be ({sequence_length},) [sequence_length], got "
            f"{tuple(win.shape)}"
        )
    return win


def _check_frames(fn: str, sequence_length, sequence_stride, fft_length) -> None:
    for arg, v in (
        ("sequence_length", sequence_length),
        ("sequence_stride", sequence_stride),
        ("fft_length", fft_length),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"keras.ops.{fn}: `{arg}` must be a positive integer, got {arg}={v!r}")
    if fft_length < sequence_length:
        raise ValueError(
            f"keras.ops.{fn}: `fft_length` must be >= `sequence_length`, got sequence_length={sequence_length}, "
            f"fft_length={fft_length}"
        )


@symbolic_op
def stft(
    x,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    window: str | Tensor | None = "hann",
    center: bool = True,
) -> tuple:
    """Short-time Fourier transform along the last axis: frames of ``sequence_length`` samples every
    ``sequence_stride``, windowed (``'hann'``, ``'hamming'``, a tensor or None) and transformed with
    ``fft_length`` points; ``center`` reflect-pads ``fft_length // 2`` samples on both sides. Returns
    ``(real, imag)`` of shape ``(..., num_sequences, fft_length // 2 + 1)``.

    Example:
        >>> re, im = stft(ts.ones(16), 8, 4, 8)
        >>> tuple(re.shape)
        (5, 5)
    """
    _check_frames("stft", sequence_length, sequence_stride, fft_length)
    x = to_tensor(x)
    if x.dtype not in (_dt.float32, _dt.float64):
        raise TypeError(f"keras.ops.stft: the input must be float32 or float64, got dtype {x.dtype.name}")
    if x.ndim < 1:
        raise ValueError(f"keras.ops.stft: input should have rank >= 1, got shape {tuple(x.shape)}")
    win = _window("stft", window, sequence_length, x.dtype)
    if win is None:
        win = creation.ones((sequence_length,), dtype=x.dtype)
    left = (fft_length - sequence_length) // 2
    win = _T.pad(win, (left, fft_length - sequence_length - left))
    batch = tuple(int(d) for d in x.shape[:-1])
    x = x.reshape((-1, int(x.shape[-1])))
    if center:
        p = fft_length // 2
        if p >= int(x.shape[-1]):
            raise ValueError(
                f"keras.ops.stft: with center=True the signal needs more than fft_length // 2 = {p} samples, "
                f"got {int(x.shape[-1])}"
            )
        x = _T.pad(x.unsqueeze(1), (p, p), mode="reflect").squeeze(1)
    if int(x.shape[-1]) < fft_length:
        raise ValueError(
            f"keras.ops.stft: the signal of {int(x.shape[-1])} samples is shorter than fft_length={fft_length}"
        )
    frames = x.unfold(1, fft_length, sequence_stride) * win
    re, im = _rfft_last(frames, fft_length)
    shape = batch + tuple(int(d) for d in re.shape[1:])
    return re.reshape(shape), im.reshape(shape)


def _overlap_add(frames: Tensor, stride: int) -> Tensor:
    """Sum of the frames ``(B, N, L)`` placed every ``stride`` samples: ``(B, L + stride * (N - 1))``."""
    b, n, length = (int(d) for d in frames.shape)
    pos = (np.arange(n)[:, None] * stride + np.arange(length)[None, :]).reshape(-1)
    out = creation.zeros((b, length + stride * (n - 1)), dtype=frames.dtype)
    return out.index_add(1, creation.tensor(pos, dtype=_dt.int64), frames.reshape(b, n * length))


@symbolic_op
def istft(
    x,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    length: int | None = None,
    window: str | Tensor | None = "hann",
    center: bool = True,
) -> Tensor:
    """The inverse of ``stft``: the signal rebuilt from ``x = (real, imag)`` of shape
    ``(..., num_sequences, fft_length // 2 + 1)`` by windowed overlap-add, cut to ``length`` if given.

    Example:
        >>> sig = ts.randn(32)
        >>> back = istft(stft(sig, 8, 4, 8), 8, 4, 8, length=32)
        >>> bool(ts.allclose(back, sig, atol=1e-5))
        True
    """
    _check_frames("istft", sequence_length, sequence_stride, fft_length)
    re, im = _pair("istft", x, min_rank=2)
    if length is not None and (isinstance(length, bool) or not isinstance(length, (int, np.integer))):
        raise ValueError(f"keras.ops.istft: `length` must be an int or None, got {length!r}")
    win = _window("istft", window, sequence_length, re.dtype)
    batch = tuple(int(d) for d in re.shape[:-2])
    n_frames, bins = int(re.shape[-2]), int(re.shape[-1])
    re, im = re.reshape((-1, n_frames, bins)), im.reshape((-1, n_frames, bins))
    frames = _irfft_last(re, im, fft_length)
    hop = sequence_stride
    if sequence_length == fft_length and center and win is not None:
        # PyTorch's istft (which Keras uses here): divide by the overlap-added squared window
        y = _overlap_add(frames * win, hop)
        env = _overlap_add((win * win).reshape(1, 1, -1).expand(1, n_frames, fft_length), hop)[0]
        start = fft_length // 2
        if length is not None:
            end = start + int(length)
        else:
            end = int(y.shape[-1]) - fft_length // 2
        env_np = env.detach().numpy()
        stop = min(end, int(y.shape[-1]))
        if stop > start and float(np.abs(env_np[start:stop]).min()) < 1e-11:
            raise ValueError(
                "keras.ops.istft: the window's overlap-add is zero somewhere (the window and sequence_stride do "
                "not satisfy the nonzero overlap-add condition)"
            )
        y = (y[:, start:stop] / env[start:stop]) if stop > start else y[:, start:start]
        if length is not None and int(y.shape[-1]) < int(length):
            y = _T.pad(y, (0, int(length) - int(y.shape[-1])))
        return y.reshape(batch + (int(y.shape[-1]),))
    # Keras's own path: the window divided by its periodic squared-window overlap, then overlap-add
    expected = fft_length + hop * (n_frames - 1)
    if win is not None:
        left = (fft_length - sequence_length) // 2
        win = _T.pad(win, (left, fft_length - sequence_length - left))
        overlaps = -(-fft_length // hop)
        denom = (
            _T.pad(win * win, (0, overlaps * hop - fft_length)).reshape(overlaps, hop).sum(0, keepdim=True)
        )
        denom = denom.expand(overlaps, hop).reshape(overlaps * hop)[:fft_length]
        frames = frames * (win / denom)
    y = _overlap_add(frames, hop)
    start = 0 if not center else fft_length // 2
    if length is not None:
        end = start + int(length)
    elif center:
        end = int(y.shape[-1]) - fft_length // 2
    else:
        end = expected
    y = y[:, start:end]
    return y.reshape(batch + (int(y.shape[-1]),))


# -- complex views -------------------------------------------------------------------------------------------
@symbolic_op
def view_as_complex(x) -> Tensor:
    """A complex tensor from ``x`` of shape ``(..., 2)`` holding real and imaginary parts.

    Example:
        >>> view_as_complex(ts.tensor([[1.0, 2.0]])).tolist()
        [(1+2j)]
    """
    x = to_tensor(x)
    if x.ndim < 1 or int(x.shape[-1]) != 2:
        raise ValueError(
            f"keras.ops.view_as_complex: the last dimension must be 2 (real and imaginary), got shape "
            f"{tuple(x.shape)}"
        )
    out_dt = _dt.complex128 if x.dtype is _dt.float64 else _dt.complex64
    part = _dt.float64 if out_dt is _dt.complex128 else _dt.float32
    return _T.complex(x[..., 0].to(part), x[..., 1].to(part))


@symbolic_op
def view_as_real(x) -> Tensor:
    """The real and imaginary parts of ``x`` stacked on a new last axis of size 2.

    Example:
        >>> view_as_real(ts.complex(ts.tensor([1.0]), ts.tensor([2.0]))).tolist()
        [[1.0, 2.0]]
    """
    x = to_tensor(x)
    if x.dtype.is_complex:
        return _T.stack([_T.real(x), _T.imag(x)], -1)
    return _T.stack([x, creation.zeros_like(x)], -1)
