"""Audio preprocessing layers: ``STFTSpectrogram`` (a strided convolution with DFT kernels, trainable as in
Keras) and ``MelSpectrogram`` (centered STFT power, mel filter bank, optional dB scale). Both are Tessera ops
end to end, so they are differentiable with respect to the signal."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .... import ops
from ....core import creation
from ....core import dtypes as _dt
from ....core.tensor import Tensor
from ....nn import functional as F
from ... import config as _config
from ... import initializers as _initializers
from ..base import InputSpec, Layer
from ._common import check_choice, check_int, to_host

__all__ = ["STFTSpectrogram", "MelSpectrogram"]

_EPSILON = 1e-7
_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _signal(layer: str, x) -> Tensor:
    t = x if isinstance(x, Tensor) else creation.as_tensor(np.asarray(to_host(x)))
    if t.dtype not in (_dt.float16, _dt.float32, _dt.float64):
        raise TypeError(
            f"{layer}: invalid input type. Expected `float16`, `float32` or `float64`. Received: input type={t.dtype}"
        )
    return t


class STFTSpectrogram(Layer):
    """The short-time Fourier transform of ``(batch, time, channels)`` signals as a strided convolution whose
    kernels (``real_kernel``/``imag_kernel``, trainable) start as the windowed DFT basis. ``mode``: ``'log'``
    (log magnitude), ``'magnitude'``, ``'psd'``, ``'real'``, ``'imag'``, ``'angle'`` or ``'stft'`` (real
    and imaginary parts concatenated).

    Example:
        >>> layer = ts.keras.layers.STFTSpectrogram(frame_length=16, mode="magnitude")
        >>> layer(np.random.rand(2, 64, 1).astype("float32")).shape
        tessera.Size([2, 7, 9])
    """

    _autocast = False

    def __init__(
        self,
        mode: str = "log",
        frame_length: int = 256,
        frame_step=None,
        fft_length=None,
        window="hann",
        periodic: bool = False,
        scaling="density",
        padding: str = "valid",
        expand_dims: bool = False,
        data_format=None,
        **kwargs,
    ):
        frame_length = check_int("STFTSpectrogram", "frame_length", frame_length, minimum=1)
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError(
                "STFTSpectrogram: `frame_step` should be a positive integer not greater than `frame_length`. "
                f"Received frame_step={frame_step}, frame_length={frame_length}"
            )
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(
                "STFTSpectrogram: `fft_length` should be not less than `frame_length`. "
                f"Received fft_length={fft_length}, frame_length={frame_length}"
            )
        check_choice(
            "STFTSpectrogram", "mode", mode, ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
        )
        if scaling is not None:
            check_choice("STFTSpectrogram", "scaling", scaling, ("density", "spectrum"))
        check_choice("STFTSpectrogram", "padding", padding, ("valid", "same"))
        _initializers.STFT("real", window, scaling, periodic)  # validates the window
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step, self.fft_length = (
            mode,
            frame_length,
            frame_step,
            fft_length,
        )
        self._frame_step = frame_step or frame_length // 2
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling, self.padding = window, bool(periodic), scaling, padding
        self.expand_dims = bool(expand_dims)
        self.data_format = (
            _config.image_data_format()
            if data_format is None
            else check_choice(
                "STFTSpectrogram", "data_format", data_format, ("channels_last", "channels_first")
            )
        )
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != ("imag" if side == "real" else "real"):
                init = _initializers.STFT(side, self.window, self.scaling, self.periodic)
                self.add_weight(f"{side}_kernel", shape, initializer=init)

    def _conv(self, x: Tensor, kernel: Tensor) -> Tensor:
        """(batch, channels, freq, frames) responses of every channel to ``kernel``."""
        if self.data_format == "channels_last":
            x = x.permute(0, 2, 1)
        b, c, t = (int(s) for s in x.shape)
        x = x.reshape(b * c, 1, t)
        k, s = self.frame_length, self._frame_step
        if self.padding == "same":
            total = max((math.ceil(t / s) - 1) * s + k - t, 0)
            x = F.pad(x, (total // 2, total - total // 2))
        weight = kernel.to(x.dtype).permute(2, 1, 0)  # (freq, 1, frame_length)
        out = F.conv1d(x, weight, stride=s)
        return out.reshape(b, c, int(out.shape[1]), int(out.shape[2]))

    def _adjust(self, out: Tensor) -> Tensor:
        b, c, f, t = (int(s) for s in out.shape)
        if self.data_format == "channels_last":
            return out.permute(0, 3, 2, 1) if self.expand_dims else out.reshape(b, c * f, t).permute(0, 2, 1)
        return out.permute(0, 1, 3, 2) if self.expand_dims else out.reshape(b, c * f, t)

    def call(self, inputs):
        x = _signal("STFTSpectrogram", inputs)
        real = self._conv(x, self.real_kernel) if self.mode != "imag" else None
        imag = self._conv(x, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._adjust(real)
        if self.mode == "imag":
            return self._adjust(imag)
        if self.mode == "angle":
            return self._adjust(ops.atan2(imag, real))
        if self.mode == "stft":
            return self._adjust(ops.cat([real, imag], dim=2))
        power = real * real + imag * imag
        if self.mode == "psd":
            inner = F.pad(power[:, :, 1:-1, :], (0, 0, 1, 1))
            return self._adjust(power + inner)
        eps = creation.as_tensor(np.asarray(_EPSILON, dtype=np.dtype(power.dtype.np)))
        linear = self._adjust(ops.sqrt(ops.maximum(power, eps)))
        return linear if self.mode == "magnitude" else ops.log(ops.maximum(linear, eps))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "mode": self.mode,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": self.window,
            "periodic": self.periodic,
            "scaling": self.scaling,
            "padding": self.padding,
            "data_format": self.data_format,
            "expand_dims": self.expand_dims,
        }


def _hertz_to_mel(f):
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + f / _MEL_BREAK_FREQUENCY_HERTZ)


def linear_to_mel_weight_matrix(
    num_mel_bins, num_spectrogram_bins, sampling_rate, lower_hz, upper_hz
) -> np.ndarray:
    """The (num_spectrogram_bins, num_mel_bins) HTK mel filter bank Keras uses (triangles peaking at 1)."""
    f32 = np.float32
    linear = np.linspace(f32(0.0), f32(sampling_rate) / f32(2.0), num_spectrogram_bins, dtype=f32)[1:]
    bins_mel = _hertz_to_mel(linear).astype(f32)[:, None]
    edges = np.linspace(_hertz_to_mel(f32(lower_hz)), _hertz_to_mel(f32(upper_hz)), num_mel_bins + 2).astype(
        f32
    )
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(f32(0.0), np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, [[1, 0], [0, 0]]).astype(f32)


def stft(x: Tensor, sequence_length: int, sequence_stride: int, fft_length: int, window="hann", center=True):
    """Keras's ``ops.stft`` (PyTorch's centered, reflect-padded STFT): (real, imag), each
    ``(..., frames, fft_length // 2 + 1)``, as framing + windowed DFT matmuls."""
    npd = np.dtype(x.dtype.np)
    if window is None:
        win = np.ones(sequence_length)
    elif isinstance(window, str):
        n = np.arange(sequence_length)
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * n / sequence_length)  # periodic, as torch.hann/hamming_window
    else:
        win = np.asarray(to_host(window), dtype=np.float64)
        if win.shape != (sequence_length,):
            raise ValueError(
                f"stft: the shape of `window` must be equal to [sequence_length]. Received: window shape={win.shape}"
            )
    left = (fft_length - sequence_length) // 2
    full = np.zeros(fft_length)
    full[left : left + sequence_length] = win
    batch_shape, samples = tuple(x.shape[:-1]), int(x.shape[-1])
    flat = x.reshape(-1, samples)
    if center:
        pad = fft_length // 2
        flat = F.pad(flat.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    n_frames = 1 + (int(flat.shape[-1]) - fft_length) // sequence_stride
    idx = np.arange(n_frames)[:, None] * sequence_stride + np.arange(fft_length)[None]
    frames = flat[:, creation.as_tensor(idx)]  # (batch, frames, fft_length)
    bins = fft_length // 2 + 1
    angle = 2 * np.pi * np.outer(np.arange(fft_length), np.arange(bins)) / fft_length
    cos = creation.as_tensor((full[:, None] * np.cos(angle)).astype(npd))
    sin = creation.as_tensor((-full[:, None] * np.sin(angle)).astype(npd))
    real = ops.matmul(frames, cos).reshape(*batch_shape, n_frames, bins)
    imag = ops.matmul(frames, sin).reshape(*batch_shape, n_frames, bins)
    return real, imag


class MelSpectrogram(Layer):
    """Mel-scaled spectrograms of ``(batch, samples)`` (or ``(samples,)``) signals: the power
    ``|STFT| ** mag_exp`` of a centered STFT, a ``num_mel_bins`` HTK filter bank over ``[min_freq,
    max_freq]`` and, with ``power_to_db``, decibels relative to ``ref_power`` floored at ``max - top_db``.
    Output: ``(batch, num_mel_bins, frames)``.

    Example:
        >>> layer = ts.keras.layers.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8)
        >>> layer(np.random.rand(2, 128).astype("float32")).shape
        tessera.Size([2, 8, 9])
    """

    _autocast = False

    def __init__(
        self,
        fft_length: int = 2048,
        sequence_stride: int = 512,
        sequence_length=None,
        window="hann",
        sampling_rate: int = 16000,
        num_mel_bins: int = 128,
        min_freq: float = 20.0,
        max_freq=None,
        power_to_db: bool = True,
        top_db: float = 80.0,
        mag_exp: float = 2.0,
        min_power: float = 1e-10,
        ref_power: float = 1.0,
        **kwargs,
    ):
        self_fft = check_int("MelSpectrogram", "fft_length", fft_length, minimum=1)
        seq = check_int("MelSpectrogram", "sequence_length", sequence_length or fft_length, minimum=1)
        if self_fft < seq:
            raise ValueError(
                "MelSpectrogram: `fft_length` must be greater than or equal to `sequence_length`. Received: "
                f"`sequence_length`={seq}, `fft_length`={self_fft}."
            )
        if isinstance(window, str):
            check_choice("MelSpectrogram", "window", window, ("hann", "hamming"))
        for name, v in (("sampling_rate", sampling_rate), ("min_freq", min_freq), ("top_db", top_db)):
            if not isinstance(v, numbers.Real):
                raise TypeError(f"MelSpectrogram: `{name}` must be a number, got {v!r}")
        super().__init__(**kwargs)
        self.fft_length, self.sequence_length = self_fft, seq
        self.sequence_stride = check_int("MelSpectrogram", "sequence_stride", sequence_stride, minimum=1)
        self.window, self.sampling_rate = window, sampling_rate
        self.num_mel_bins = check_int("MelSpectrogram", "num_mel_bins", num_mel_bins, minimum=1)
        self.min_freq, self.max_freq = min_freq, max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = bool(power_to_db), top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        self.built = True

    def call(self, inputs):
        x = _signal("MelSpectrogram", inputs)
        if x.dtype is _dt.float16:
            x = x.to(_dt.float32)
        real, imag = stft(x, self.sequence_length, self.sequence_stride, self.fft_length, self.window)
        spec = ops.pow(ops.sqrt(real * real + imag * imag), self.mag_exp)
        matrix = linear_to_mel_weight_matrix(
            self.num_mel_bins, int(spec.shape[-1]), self.sampling_rate, self.min_freq, self.max_freq
        )
        out = ops.matmul(spec, creation.as_tensor(matrix.astype(np.dtype(spec.dtype.np))))
        if self.power_to_db:
            floor = creation.as_tensor(np.asarray(self.min_power, dtype=np.dtype(out.dtype.np)))
            log_spec = ops.log10(ops.maximum(out, floor)) * 10.0
            log_spec = log_spec - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
            out = ops.maximum(log_spec, log_spec.max() - self.top_db)
        return out.transpose(-1, -2)

    def compute_output_shape(self, input_shape):
        def frames(n):
            return None if n is None else (n + self.sequence_stride + 1) // self.sequence_stride

        if len(input_shape) == 1:
            return (self.num_mel_bins, frames(input_shape[0]))
        return (input_shape[0], self.num_mel_bins, frames(input_shape[1]))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "window": self.window,
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "power_to_db": self.power_to_db,
            "top_db": self.top_db,
            "mag_exp": self.mag_exp,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
        }
