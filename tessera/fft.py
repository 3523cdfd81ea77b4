"""``ts.fft``: discrete Fourier transforms with PyTorch's names and normalisations."""

__all__: list[str] = []
