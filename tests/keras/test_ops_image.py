"""keras.ops.image against real Keras 3 (torch backend) on random inputs (values to 1e-5 and dtypes), with
NumPy references where Keras's torch backend has no implementation (lanczos/area resize), gradients against
finite differences, symbolic use and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.keras import ops as tops

rng = np.random.default_rng(0)
img = tops.image


def r(*shape, dtype="float32", lo=0.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(dtype)


def to_np(v):
    if isinstance(v, ts.Tensor):
        return v.detach().numpy()
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def check(ours, theirs, atol=1e-5, rtol=1e-5):
    x, y = to_np(ours), to_np(theirs)
    assert x.shape == y.shape, (x.shape, y.shape)
    assert x.dtype == y.dtype, (x.dtype, y.dtype)
    np.testing.assert_allclose(x.astype("float64"), y.astype("float64"), atol=atol, rtol=rtol)


U8 = (r(2, 7, 9, 3) * 255).astype("uint8")
PTS = np.array([[0, 0], [9, 0], [0, 7], [9, 7]], "float32")
SHIFT = np.array([1.0, 0.0, -1.5, 0.0, 1.0, 2.3, 0.0, 0.0], "float32")
ROT = np.array(
    [[0.9, -0.3, 1.0, 0.3, 0.9, -0.5, 0.0, 0.0], [1.2, 0.1, -2.0, 0.0, 0.8, 1.0, 0.0, 0.0]], "float32"
)

CASES = {
    "rgb_to_grayscale": [((r(2, 5, 6, 3),), {}), ((r(3, 5, 6),), {"data_format": "channels_first"}), ((U8,), {}),
                         ((r(5, 6, 1),), {})],
    "rgb_to_hsv": [((r(2, 5, 6, 3),), {}), ((r(3, 5, 6),), {"data_format": "channels_first"}),
                   ((np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5], [0, 0, 0]]], "float32"),), {})],
    "hsv_to_rgb": [((r(2, 5, 6, 3),), {}), ((r(3, 5, 6),), {"data_format": "channels_first"})],
    "resize": [
        ((r(2, 7, 9, 3), (4, 5)), {}),
        ((r(2, 7, 9, 3), (13, 11)), {}),
        ((r(2, 7, 9, 3), (4, 12)), {"interpolation": "nearest"}),
        ((r(2, 7, 9, 3), (11, 5)), {"interpolation": "bicubic"}),
        ((r(2, 17, 19, 3), (5, 6)), {"antialias": True}),
        ((r(2, 17, 19, 3), (5, 8)), {"interpolation": "bicubic", "antialias": True}),
        ((r(2, 5, 6, 3), (9, 13)), {"interpolation": "bicubic", "antialias": True}),
        ((r(2, 7, 9, 3), (4, 4)), {"crop_to_aspect_ratio": True}),
        ((r(2, 7, 9, 3), (4, 4)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
        ((r(2, 9, 7, 3), (4, 4)), {"pad_to_aspect_ratio": True}),
        ((r(3, 7, 9), (5, 4)), {"data_format": "channels_first"}),
        ((U8, (5, 4)), {}),
        ((U8, (11, 13)), {"interpolation": "bicubic"}),
        ((r(2, 7, 9, 3, dtype="float64"), (5, 4)), {}),
    ],
    "affine_transform": [
        ((r(7, 9, 3), SHIFT), {}),
        ((r(2, 7, 9, 3), ROT), {"interpolation": "nearest"}),
        ((r(2, 7, 9, 3), ROT), {"fill_mode": "nearest"}),
        ((r(2, 7, 9, 3), ROT * 1.5), {"fill_mode": "wrap"}),
        ((r(2, 7, 9, 3), ROT * 1.5), {"fill_mode": "mirror"}),
        ((r(2, 7, 9, 3), ROT * 1.5), {"fill_mode": "reflect"}),
        ((r(2, 7, 9, 3), ROT), {"fill_value": 0.7}),
        ((r(3, 7, 9), SHIFT), {"data_format": "channels_first"}),
    ],
    "crop_images": [
        ((r(2, 7, 9, 3),), dict(top_cropping=1, left_cropping=2, target_height=4, target_width=5)),
        ((r(2, 7, 9, 3),), dict(bottom_cropping=1, right_cropping=2, target_height=4, target_width=5)),
        ((r(3, 7, 9),), dict(top_cropping=1, bottom_cropping=2, left_cropping=0, right_cropping=3,
                              data_format="channels_first")),
    ],
    "pad_images": [
        ((r(2, 7, 9, 3),), dict(top_padding=1, left_padding=2, target_height=10, target_width=12)),
        ((r(7, 9, 3),), dict(bottom_padding=1, right_padding=2, target_height=10, target_width=12)),
        ((r(2, 3, 7, 9),), dict(top_padding=1, bottom_padding=2, left_padding=0, right_padding=3,
                                 data_format="channels_first")),
    ],
    "extract_patches": [
        ((r(2, 8, 9, 3), 3), {}),
        ((r(2, 8, 9, 3), (2, 3)), {"strides": (1, 2), "padding": "same"}),
        ((r(8, 9, 3), 2), {"strides": 1, "dilation_rate": 2}),
        ((r(2, 3, 8, 9), 3), {"data_format": "channels_first"}),
        ((r(1, 4, 5, 6, 2), (2, 2, 3)), {}),
    ],
    "extract_patches_3d": [((r(1, 4, 5, 6, 2), 2), {}), ((r(4, 5, 6, 2), (2, 3, 2)), {"strides": 1}),
                           ((r(1, 2, 5, 6, 7), 2), {"padding": "same", "data_format": "channels_first"})],
    # Keras's eager gaussian_blur hands data_format=None to the torch backend, which then reads channels_first
    "gaussian_blur": [((r(2, 7, 9, 3),), {"data_format": "channels_last"}),
                      ((r(2, 7, 9, 3),), {"kernel_size": (5, 5), "sigma": (2.0, 2.0), "data_format": "channels_last"}),
                      ((r(3, 7, 9),), {"kernel_size": (3, 3), "sigma": (0.5, 0.5), "data_format": "channels_first"})],
    "map_coordinates": [
        ((r(5, 6), r(2, 3, 4, lo=-2, hi=7)), {"order": 1}),
        ((r(5, 6), r(2, 7, lo=-2, hi=7)), {"order": 0}),
        ((r(5, 6, 3), r(3, 10, lo=-3, hi=8)), {"order": 1, "fill_mode": "nearest"}),
        ((r(5, 6), r(2, 10, lo=-8, hi=14)), {"order": 1, "fill_mode": "wrap"}),
        ((r(5, 6), r(2, 10, lo=-8, hi=14)), {"order": 1, "fill_mode": "mirror"}),
        ((r(5, 6), r(2, 10, lo=-8, hi=14)), {"order": 0, "fill_mode": "reflect"}),
        ((r(5, 6), r(2, 10, lo=-2, hi=7)), {"order": 1, "fill_value": 0.5}),
    ],
    "perspective_transform": [
        ((r(2, 8, 10, 3), PTS, PTS + np.array([[1, 0], [-1, 1], [0, -1], [-1, -1]], "float32")), {}),
        ((r(8, 10, 3), PTS, PTS * 0.8 + 0.5), {"interpolation": "nearest", "fill_value": 0.3}),
        ((r(2, 3, 8, 10), np.stack([PTS, PTS]), np.stack([PTS * 0.9, PTS + 0.5])),
         {"data_format": "channels_first"}),
    ],
    "scale_and_translate": [
        ((r(2, 6, 7, 3), (2, 9, 5, 3), np.array([1.5, 0.7], "float32"), np.array([0.3, -0.2], "float32"),
          (1, 2), "linear"), {}),
        ((r(2, 6, 7, 3), (2, 9, 5, 3), np.array([1.5, 0.7], "float32"), np.array([0.3, -0.2], "float32"),
          (1, 2), "bicubic"), {"antialias": False}),
        ((r(6, 7), (12, 3), np.array([2.0, 0.45], "float32"), np.array([0.0, 0.1], "float32"), (0, 1),
          "lanczos3"), {}),
        ((r(6, 7), (12, 3), np.array([2.0, 0.45], "float32"), np.array([0.0, 0.1], "float32"), (0, 1),
          "lanczos5"), {"antialias": False}),
    ],
    "sobel_edges": [((r(2, 7, 9, 3),), {}), ((r(2, 3, 7, 9),), {"data_format": "channels_first"})],
    "ssim": [((r(2, 16, 17, 3), r(2, 16, 17, 3)), {}),
             ((r(16, 16, 1), r(16, 16, 1)), {"max_val": 2.0, "filter_size": 7, "filter_sigma": 1.0}),
             ((r(2, 3, 12, 12), r(2, 3, 12, 12)), {"data_format": "channels_first", "k1": 0.02})],
}  # fmt: skip

PARAMS = [pytest.param(n, i, id=f"{n}-{i}") for n in sorted(CASES) for i in range(len(CASES[n]))]


def test_every_name_is_tested():
    assert set(CASES) | {"elastic_transform"} == set(img.__all__)
    assert not hasattr(tops, "resize")  # image functions are only in the submodule, as in Keras


@pytest.mark.parametrize("name,i", PARAMS)
def test_matches_keras(real_keras, name, i):
    args, kwargs = CASES[name][i]
    kt = real_keras.ops.convert_to_tensor

    def conv(v):
        return kt(v) if isinstance(v, np.ndarray) else v

    theirs = getattr(real_keras.ops.image, name)(*map(conv, args), **{k: conv(v) for k, v in kwargs.items()})
    ours = getattr(img, name)(*args, **kwargs)
    tol = 1e-4 if name in ("perspective_transform",) else 1e-5
    check(ours, theirs, atol=tol, rtol=tol)


def _as_dtype(v, dtype):
    if not isinstance(v, np.ndarray) or v.dtype.kind != "f" or v.ndim < 2:
        return v
    return (v * 200).astype(dtype) if dtype in ("int32", "uint8") else v.astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float16", "uint8", "int32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_dtypes_match_keras(real_keras, name, dtype):
    """The first case of each function with its image arrays in ``dtype``: the result dtype and values agree
    with Keras wherever Keras's torch backend computes it (integer results may differ by a rounding step)."""
    args, kwargs = CASES[name][0]
    args = [_as_dtype(a, dtype) if i == 0 or name == "ssim" else a for i, a in enumerate(args)]
    kt = real_keras.ops.convert_to_tensor

    def conv(v):
        return kt(v) if isinstance(v, np.ndarray) else v

    try:
        theirs = getattr(real_keras.ops.image, name)(
            *map(conv, args), **{k: conv(v) for k, v in kwargs.items()}
        )
    except (NotImplementedError, RuntimeError, ValueError, TypeError):
        pytest.skip(f"Keras's torch backend does not compute {name} on {dtype}")
    tol = {"float16": 2e-2, "uint8": 1.01, "int32": 1.01}.get(dtype, 1e-5)
    check(getattr(img, name)(*args, **kwargs), theirs, atol=tol, rtol=1e-5 if tol < 1 else 0)


@pytest.mark.parametrize("method", ["lanczos3", "lanczos5"])
@pytest.mark.parametrize("antialias", [False, True])
def test_lanczos_resize_is_scale_and_translate(real_keras, method, antialias):
    x = r(2, 9, 7, 3)
    ours = img.resize(x, (5, 11), interpolation=method, antialias=antialias)
    theirs = real_keras.ops.image.scale_and_translate(
        x,
        (2, 5, 11, 3),
        np.array([5 / 9, 11 / 7], "float32"),
        np.zeros(2, "float32"),
        (1, 2),
        method,
        antialias,
    )
    check(ours, theirs)


def _area_reference(x, oh, ow):
    n, h, w, c = x.shape
    out = np.zeros((n, oh, ow, c))
    sh, sw = h / oh, w / ow
    for i in range(oh):
        for j in range(ow):
            acc = np.zeros((n, c))
            for y in range(h):
                wy = max(0.0, min((i + 1) * sh, y + 1) - max(i * sh, y))
                for xx in range(w):
                    wx = max(0.0, min((j + 1) * sw, xx + 1) - max(j * sw, xx))
                    acc += wy * wx * x[:, y, xx]
            out[:, i, j] = acc / (sh * sw)
    return out


@pytest.mark.parametrize("size", [(3, 3), (4, 5), (7, 2)])
def test_area_resize(size):
    x = r(2, 6, 9, 2)
    np.testing.assert_allclose(to_np(img.resize(x, size, interpolation="area")), _area_reference(x, *size),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(
        to_np(img.resize(x, (3, 3), interpolation="area")),
        x.reshape(2, 3, 2, 3, 3, 2).mean((2, 4)),
        rtol=1e-5,
    )


def test_affine_projective_terms():
    x = r(1, 6, 7, 1)
    t = np.array([1.0, 0.1, 0.5, 0.0, 1.0, 0.0, 0.02, 0.01], "float32")
    ours = to_np(img.affine_transform(x, t, interpolation="nearest"))[0, :, :, 0]
    ref = np.zeros((6, 7), "float32")
    for y in range(6):
        for xx in range(7):
            k = t[6] * xx + t[7] * y + 1
            sx, sy = (t[0] * xx + t[1] * y + t[2]) / k, (t[3] * xx + t[4] * y + t[5]) / k
            iy, ix = int(np.round(sy)), int(np.round(sx))
            ref[y, xx] = x[0, iy, ix, 0] if 0 <= iy < 6 and 0 <= ix < 7 else 0.0
    np.testing.assert_allclose(ours, ref)


def test_elastic_transform():
    x = r(2, 12, 13, 3)
    a = to_np(img.elastic_transform(x, seed=3))
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, to_np(img.elastic_transform(x, seed=3)))
    assert not np.allclose(a, x)
    np.testing.assert_allclose(to_np(img.elastic_transform(x, alpha=0.0, seed=1)), x, atol=1e-6)
    u8 = (x * 255).astype("uint8")
    assert to_np(img.elastic_transform(u8, seed=3, data_format="channels_last")).dtype == np.uint8
    cf = to_np(img.elastic_transform(np.moveaxis(x, -1, 1), alpha=0.0, data_format="channels_first"))
    np.testing.assert_allclose(cf, np.moveaxis(x, -1, 1), atol=1e-6)


# -- gradients -----------------------------------------------------------------------------------------------
def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


GRADS = [
    ("resize_bilinear", lambda x: img.resize(x, (5, 3)), (1, 3, 4, 1)),
    ("resize_bicubic_aa", lambda x: img.resize(x, (2, 3), interpolation="bicubic", antialias=True), (1, 4, 5, 1)),
    ("resize_lanczos3", lambda x: img.resize(x, (5, 3), interpolation="lanczos3"), (1, 3, 4, 1)),
    ("affine", lambda x: img.affine_transform(x, ts.tensor(np.array([0.9, 0.2, 0.3, -0.1, 1.1, 0.2, 0, 0]))),
     (1, 4, 4, 2)),
    ("map_coordinates", lambda x: img.map_coordinates(x, ts.tensor(np.array([[0.3, 2.6], [1.2, 0.4]])), 1),
     (3, 3)),
    ("gaussian_blur", lambda x: img.gaussian_blur(x), (1, 4, 4, 1)),
    ("rgb_to_hsv", lambda x: img.rgb_to_hsv(x * 0.5 + 0.25), (1, 2, 2, 3)),
    ("ssim", lambda x: img.ssim(x, ts.tensor(np.linspace(0, 1, 36).reshape(1, 6, 6, 1)), filter_size=3),
     (1, 6, 6, 1)),
]  # fmt: skip


@pytest.mark.parametrize("name,f,shape", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_match_finite_differences(name, f, shape):
    x0 = np.random.default_rng(1).uniform(0.1, 0.9, shape)
    w = np.random.default_rng(2).standard_normal(to_np(f(ts.tensor(x0))).shape)

    def scalar(v):
        return float((to_np(f(ts.tensor(v))) * w).sum())

    x = ts.tensor(x0, requires_grad=True)
    (f(x) * ts.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), _numeric_grad(scalar, x0), rtol=1e-5, atol=1e-6)


# -- symbolic use --------------------------------------------------------------------------------------------
def test_symbolic_functional_model_matches_eager():
    keras = ts.keras
    inp = keras.Input((8, 10, 3))
    h = img.resize(inp, (6, 6))
    h = img.gaussian_blur(h)
    h = img.pad_images(h, 1, 1, target_height=9, target_width=9)
    h = img.rgb_to_grayscale(h)
    p = img.extract_patches(h, 3)
    assert tuple(p.shape) == (None, 3, 3, 9)
    model = keras.Model(inp, p)
    x = r(2, 8, 10, 3)
    e = img.extract_patches(
        img.rgb_to_grayscale(img.pad_images(img.gaussian_blur(img.resize(x, (6, 6))), 1, 1, target_height=9,
                                            target_width=9)), 3)  # fmt: skip
    check(model(ts.tensor(x)), e, atol=1e-6)


SYMBOLIC = [p for p in PARAMS if isinstance(CASES[p.values[0]][p.values[1]][0][0], np.ndarray)]


@pytest.mark.parametrize("name,i", SYMBOLIC)
def test_every_case_symbolically(name, i):
    """Each case with its first argument a (fully shaped) KerasTensor: the recorded model agrees with eager
    and the inferred shapes and dtypes with the real outputs."""
    args, kwargs = CASES[name][i]
    fn = getattr(img, name)
    inp = ts.keras.Input(batch_shape=args[0].shape, dtype=str(args[0].dtype))
    sym = fn(inp, *args[1:], **kwargs)
    got = ts.keras.Model(inp, sym)(ts.tensor(args[0]))
    want = fn(*args, **kwargs)
    check(got, want, atol=1e-6)
    for s, w in zip(
        sym if isinstance(sym, (list, tuple)) else [sym], want if isinstance(want, (list, tuple)) else [want]
    ):
        assert tuple(s.shape) == tuple(w.shape) and s.dtype == w.dtype


# -- errors --------------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: img.resize(r(4, 4), (2, 2)), ValueError, "image.resize.*rank 3 or 4"),
    (lambda: img.resize(r(4, 4, 3), (2,)), ValueError, "image.resize.*size"),
    (lambda: img.resize(r(4, 4, 3), (2, 2), interpolation="cubic"), ValueError, "resize.*interpolation"),
    (lambda: img.resize(r(4, 4, 3), (2, 2), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), ValueError,
     "only one"),
    (lambda: img.affine_transform(r(4, 4, 3), np.zeros(6)), ValueError, "affine_transform.*transform"),
    (lambda: img.affine_transform(r(4, 4, 3), SHIFT, fill_mode="edge"), ValueError, "fill_mode"),
    (lambda: img.crop_images(r(4, 4, 3), 1, 1), ValueError, "crop_images.*exactly two"),
    (lambda: img.crop_images(r(4, 4, 3), 1, 1, target_height=5, target_width=2), ValueError, "crop_images"),
    (lambda: img.pad_images(r(4, 4, 3), 1, 1, target_height=3, target_width=6), ValueError, "pad_images"),
    (lambda: img.rgb_to_grayscale(r(4, 4, 2)), ValueError, "rgb_to_grayscale.*channels"),
    (lambda: img.rgb_to_hsv(U8), ValueError, "rgb_to_hsv.*float"),
    (lambda: img.map_coordinates(r(4, 4), r(3, 5), 1), ValueError, "map_coordinates.*rank"),
    (lambda: img.map_coordinates(r(4, 4), r(2, 5), 3), NotImplementedError, "order"),
    (lambda: img.perspective_transform(r(4, 4, 3), PTS[:3], PTS[:3]), ValueError, "perspective.*start_points"),
    (lambda: img.ssim(r(8, 8, 3), r(8, 7, 3)), ValueError, "ssim.*same shape"),
    (lambda: img.sobel_edges(r(8, 8, 3)), ValueError, "sobel_edges.*rank 4"),
    (lambda: img.extract_patches(r(8, 8, 3), (2, 2, 2, 2)), TypeError, "extract_patches.*size"),
    (lambda: img.extract_patches(r(8, 3, 3), 4), ValueError, "image.extract_patches.*larger than"),
    (lambda: img.scale_and_translate(r(4, 4), (8, 8), [2.0], [0.0], (0, 1), "linear"), ValueError, "one value"),
    (lambda: img.gaussian_blur(r(8, 8, 3), sigma=(0.0, 1.0)), ValueError, "gaussian_blur.*sigma"),
]  # fmt: skip


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    f, exc, pattern = ERRORS[i]
    with pytest.raises(exc, match=pattern):
        f()


def test_default_data_format_is_channels_last():
    x = r(2, 7, 9, 3)
    check(img.gaussian_blur(x), img.gaussian_blur(x, data_format="channels_last"))
    check(img.sobel_edges(x), img.sobel_edges(x, data_format="channels_last"))
