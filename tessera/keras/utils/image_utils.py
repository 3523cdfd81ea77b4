"""``keras.utils`` image files: ``load_img``, ``save_img``, ``img_to_array`` and ``array_to_img`` (Pillow
images, as in Keras; Pillow is needed only by these functions)."""

from __future__ import annotations

import numpy as np

__all__ = ["load_img", "save_img", "img_to_array", "array_to_img"]

_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_RESAMPLE = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil(who: str):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{who} needs Pillow: pip install pillow") from None
    return Image


def _channels(who: str, color_mode: str) -> int:
    if color_mode not in _MODES:
        raise ValueError(f'{who}: color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}')
    return {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]


def _data_format(who: str, data_format):
    from .. import config

    fmt = data_format or config.image_data_format()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            f'{who}: data_format must be "channels_last" or "channels_first", got {data_format!r}'
        )
    return fmt


def load_img(
    path,
    color_mode: str = "rgb",
    target_size=None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
):
    """Load an image file as a Pillow image, converted to ``color_mode`` and resized to ``target_size``
    ``(height, width)`` (center-cropped to its aspect ratio first with ``keep_aspect_ratio``, or padded with
    black with ``pad_to_aspect_ratio``).

    Example:
        >>> img = load_img("cat.png", target_size=(64, 64))  # doctest: +SKIP
        >>> img.size  # doctest: +SKIP
        (64, 64)
    """
    Image = _pil("load_img")
    _channels("load_img", color_mode)
    if interpolation not in _RESAMPLE:
        raise ValueError(f"load_img: interpolation must be one of {_RESAMPLE}, got {interpolation!r}")
    if hasattr(path, "read"):
        img = Image.open(path)
    else:
        img = Image.open(str(path))
    img = img.convert(_MODES[color_mode])
    if target_size is not None:
        h, w = (int(v) for v in target_size)
        resample = getattr(Image.Resampling, interpolation.upper())
        if (img.width, img.height) != (w, h):
            if keep_aspect_ratio:
                crop_w = min(img.width, img.height * w // h)
                crop_h = min(img.height, img.width * h // w)
                left, top = (img.width - crop_w) // 2, (img.height - crop_h) // 2
                img = img.crop((left, top, left + crop_w, top + crop_h))
            elif pad_to_aspect_ratio:
                pad_w = max(img.width, img.height * w // h)
                pad_h = max(img.height, img.width * h // w)
                canvas = Image.new(img.mode, (pad_w, pad_h))
                canvas.paste(img, ((pad_w - img.width) // 2, (pad_h - img.height) // 2))
                img = canvas
            img = img.resize((w, h), resample)
    return img


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A Pillow image as a 3-D array ``(height, width, channels)`` (channels first with
    ``data_format="channels_first"``), ``dtype`` default floatx.

    Example:
        >>> img_to_array(array_to_img(np.zeros((2, 3, 3)))).shape
        (2, 3, 3)
    """
    from .. import config

    fmt = _data_format("img_to_array", data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        x = x[..., None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    return np.moveaxis(x, -1, 0) if fmt == "channels_first" else x


def array_to_img(x, data_format=None, scale: bool = True, dtype=None):
    """A 3-D array (``(h, w, c)``, or ``(c, h, w)`` with ``channels_first``; 1, 3 or 4 channels) as a Pillow
    image; ``scale`` maps its range to [0, 255].

    Example:
        >>> array_to_img(np.ones((4, 5, 3))).size
        (5, 4)
    """
    Image = _pil("array_to_img")
    fmt = _data_format("array_to_img", data_format)
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected an image array of rank 3, got shape {x.shape}")
    if fmt == "channels_first":
        x = np.moveaxis(x, 0, -1)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    c = x.shape[-1]
    if c not in (1, 3, 4):
        raise ValueError(f"array_to_img: unsupported number of channels {c} (shape {x.shape})")
    arr = x.astype("uint8")
    if c == 1:
        return Image.fromarray(arr[:, :, 0], "L")
    return Image.fromarray(arr, "RGB" if c == 3 else "RGBA")


def save_img(path, x, data_format=None, file_format=None, scale: bool = True, **kwargs) -> None:
    """Save a 3-D image array to ``path`` (format from the extension or ``file_format``).

    Example:
        >>> save_img("out.png", np.zeros((8, 8, 3)))  # doctest: +SKIP
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)
