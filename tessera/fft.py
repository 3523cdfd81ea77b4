"""``ts.fft``: discrete Fourier transforms with PyTorch's names and normalisations.

Example:
    >>> ts.fft.rfft(ts.tensor([1.0, 2.0, 3.0, 4.0])).abs()
    tensor([10.0000,  2.8284,  2.0000])
"""

from .ops import fft as _fft

_fft_ops = _fft
for _name in _fft.FFT_NAMES:
    globals()[_name] = getattr(_fft, _name)
del _name

__all__: list[str] = list(_fft.FFT_NAMES)
