"""A minimal PNG encoder (8-bit greyscale, grey+alpha, RGB, RGBA) built on zlib: no PIL needed."""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png"]

_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(image: np.ndarray, level: int = 6) -> bytes:
    """Encode a ``uint8`` array of shape ``(H, W, C)`` (C in 1..4) as PNG bytes."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in _COLOR_TYPE:
        raise ValueError(
            f"encode_png: expected a uint8 (H, W, 1|2|3|4) array, got {image.dtype} {image.shape}"
        )
    h, w, c = image.shape
    if h == 0 or w == 0:
        raise ValueError(f"encode_png: cannot encode an empty image of shape {image.shape}")
    rows = np.empty((h, 1 + w * c), np.uint8)
    rows[:, 0] = 0  # filter type "None" for every scanline
    rows[:, 1:] = image.reshape(h, w * c)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + _chunk(b"IEND", b"")
    )
