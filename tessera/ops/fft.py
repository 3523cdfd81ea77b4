"""Discrete Fourier transform ops (the registry side of ``ts.fft``)."""

__all__: list[str] = []
