"""``keras.Model.export(filepath, format="tessera", ...)``: the Keras 3 entry point to ``ts.export``."""

from __future__ import annotations

import os

import numpy as np

from ..core import dtypes as _dt
from ..core.tensor import Tensor

__all__ = ["export_model"]

_KERAS_FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "tflite")


def _spec_shape_dtype(where: str, i: int, spec):
    if isinstance(spec, Tensor):
        return tuple(int(n) for n in spec.shape), spec.dtype, spec
    if isinstance(spec, np.ndarray):
        return spec.shape, _dt.from_numpy_dtype(spec.dtype), Tensor._wrap(np.ascontiguousarray(spec))
    shape = getattr(spec, "shape", None)
    if shape is None:
        raise TypeError(f"{where}: input_signature[{i}] must be an InputSpec-like spec (with .shape and "
                        f".dtype), a Tensor or a NumPy array, got {type(spec).__name__}")  # fmt: skip
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: input_signature[{i}]: bad shape {shape!r}") from None
    dtype = getattr(spec, "dtype", None)
    return shape, _dt.as_dtype(dtype if dtype is not None else "float32"), None


def export_model(model, filepath, format="tessera", verbose=True, input_signature=None, **kwargs):
    """Write ``model`` as an exported program (``ts.export``) to ``filepath``; returns the program."""
    from .program import export

    where = f"Model.export ('{getattr(model, 'name', type(model).__name__)}')"
    if format != "tessera":
        hint = " (Keras writes it with TensorFlow; Tessera does not)" if format in _KERAS_FORMATS else ""
        raise ValueError(f"{where}: format {format!r} is not supported{hint}; use format='tessera'")
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{where}: filepath must be a str or os.PathLike, got {type(filepath).__name__}")
    if input_signature is None:
        input_signature = getattr(model, "inputs", None)
        if not input_signature:
            raise ValueError(f"{where}: the model has no known inputs; pass input_signature (a list of "
                             "InputSpec-like specs or example arrays)")  # fmt: skip
    if not isinstance(input_signature, (list, tuple)):
        input_signature = [input_signature]
    if not input_signature:
        raise ValueError(f"{where}: input_signature is empty")
    args, names, dynamic = [], [], {}
    rng = np.random.default_rng(0)
    for i, spec in enumerate(input_signature):
        shape, dtype, example = _spec_shape_dtype(where, i, spec)
        name = getattr(spec, "name", None)
        name = name if isinstance(name, str) and name.isidentifier() and name not in names else f"input_{i}"
        names.append(name)
        dims = {d: ("batch" if d == 0 else f"{name}_dim{d}") for d, n in enumerate(shape) if n is None}
        if dims:
            dynamic[name] = dims
        if example is None:
            concrete = tuple(2 if n is None else n for n in shape)
            if dtype.np.kind == "f":
                arr = rng.standard_normal(concrete).astype(dtype.np)
            else:
                arr = np.zeros(concrete, dtype.np)
            example = Tensor._wrap(arr)
        args.append(example)
    single = len(args) == 1

    def serve(*xs):
        return model(xs[0] if single else list(xs), training=False)

    serve.__self__ = model  # eval mode and weight names come from the model
    prog = export(serve, tuple(args), dynamic_shapes=dynamic or None, input_names=names)
    prog.save(filepath)
    if verbose:
        print(
            f"Saved artifact at '{os.fspath(filepath)}'. Endpoints:\n  {prog.signatures['serving_default']!r}"
        )
    return prog
