"""Tessera dtypes: the ``ts.float32``-style objects, their NumPy storage types and PyTorch's promotion rules."""

from __future__ import annotations

import builtins
import sys

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "half",
    "float",
    "double",
    "short",
    "int",
    "long",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "result_type",
    "can_cast",
    "finfo",
    "iinfo",
]

_BOOL, _INT, _FLOAT = 0, 1, 2
_COMPLEX = 3  # complex64/complex128: not floating point (as in PyTorch); no autograd


class dtype:
    """A tensor element type, e.g. ``ts.float32``. Compares equal only to itself.

    The NumPy types of ``bfloat16`` (and other ml_dtypes types) come from ml_dtypes, whose import takes
    over a second; such a dtype is made with ``np_dtype=None, lazy="<ml_dtypes name>"`` and its ``np`` slot
    is filled on first use (``__getattr__`` only runs while the slot is still empty).
    """

    __slots__ = ("name", "np", "itemsize", "category", "is_floating_point", "is_signed", "_rank", "_lazy")

    def __init__(
        self,
        name: str,
        np_dtype,
        category: builtins.int,
        rank: builtins.int,
        *,
        lazy: str | None = None,
        itemsize: builtins.int | None = None,
    ):
        self.name = name
        self._lazy = lazy
        if lazy is None:
            self.np = np.dtype(np_dtype)
            itemsize = self.np.itemsize
        self.itemsize = itemsize
        self.category = category
        self.is_floating_point = category == _FLOAT
        self.is_signed = category >= _FLOAT or (category == _INT and self.np.kind == "i")
        self._rank = rank

    def __getattr__(self, attr):
        if attr == "np" and self._lazy is not None:
            _load_ml_dtypes()
            return self.np
        raise AttributeError(f"'tessera.dtype' object has no attribute {attr!r}")

    @property
    def is_complex(self) -> builtins.bool:
        return self.category == _COMPLEX

    def to_complex(self):
        """The complex dtype with this floating dtype's precision (float64 -> complex128)."""
        if self.category == _COMPLEX:
            return self
        if self.category != _FLOAT:
            raise TypeError(f"to_complex: expected a floating dtype, got {self}")
        return complex128 if self is float64 else complex64

    def to_real(self):
        """The real dtype of a complex dtype (complex64 -> float32); other dtypes are returned unchanged."""
        if self.category != _COMPLEX:
            return self
        return float64 if self is complex128 else float32

    def __repr__(self) -> str:
        return f"tessera.{self.name}"

    def __reduce__(self):
        return self.name


bool = dtype("bool", np.bool_, _BOOL, 0)
uint8 = dtype("uint8", np.uint8, _INT, 1)
int8 = dtype("int8", np.int8, _INT, 1)
int16 = dtype("int16", np.int16, _INT, 2)
int32 = dtype("int32", np.int32, _INT, 3)
int64 = dtype("int64", np.int64, _INT, 4)
float16 = dtype("float16", np.float16, _FLOAT, 1)
bfloat16 = dtype("bfloat16", None, _FLOAT, 1, lazy="bfloat16", itemsize=2)
float32 = dtype("float32", np.float32, _FLOAT, 2)
float64 = dtype("float64", np.float64, _FLOAT, 3)
half, float, double, short, int, long = float16, float32, float64, int16, int32, int64

ALL_DTYPES = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)


class _NumpyToDtype(dict):
    """NumPy dtype -> Tessera dtype. A NumPy type from ml_dtypes (an array made by ml_dtypes directly)
    loads ml_dtypes' entries on first sight; until then they are absent, keeping ``import tessera`` fast."""

    def __missing__(self, key):
        if _is_ml_dtypes_key(key):
            _load_ml_dtypes()
            if dict.__contains__(self, key):
                return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key) -> builtins.bool:
        if dict.__contains__(self, key):
            return True
        if _is_ml_dtypes_key(key):
            _load_ml_dtypes()
            return dict.__contains__(self, key)
        return False


def _is_ml_dtypes_key(key) -> builtins.bool:
    # An ml_dtypes array can only exist once ml_dtypes is imported (checked first: cheap); once its dtypes
    # are loaded, a miss is a type Tessera does not have.
    if "ml_dtypes" not in sys.modules or _LAZY_DTYPES[0]._lazy is None:
        return False
    return getattr(getattr(key, "type", None), "__module__", "").startswith("ml_dtypes")


_FROM_NP = _NumpyToDtype({d.np: d for d in ALL_DTYPES if d._lazy is None})
_LAZY_DTYPES = tuple(d for d in ALL_DTYPES if d._lazy is not None)


def _load_ml_dtypes() -> None:
    """Import ml_dtypes and fill in the NumPy types of the dtypes it provides (``bfloat16``)."""
    import ml_dtypes

    for d in _LAZY_DTYPES:
        if d._lazy is not None:
            d.np = np.dtype(getattr(ml_dtypes, d._lazy))
            dict.__setitem__(_FROM_NP, d.np, d)
            d._lazy = None


_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)

# Complex dtypes (forward-only: their tensors do not take part in autograd).
complex64 = dtype("complex64", np.complex64, _COMPLEX, 1)
complex128 = dtype("complex128", np.complex128, _COMPLEX, 2)
cfloat, cdouble = complex64, complex128
COMPLEX_DTYPES = (complex64, complex128)
for _c in COMPLEX_DTYPES:
    dict.__setitem__(_FROM_NP, _c.np, _c)
_BY_NAME.update(complex64=complex64, complex128=complex128, cfloat=complex64, cdouble=complex128)

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype that Python floats and float factories produce (``ts.float32`` unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype, e.g. ``ts.set_default_dtype(ts.float64)``."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_float = d
    _RESULT_CACHE.clear()


def as_dtype(d) -> dtype:
    """Convert a Tessera dtype, NumPy dtype, Python type or name to a Tessera ``dtype``."""
    if d.__class__ is dtype:
        return d
    if d is builtins.float:
        return _default_float
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        return _FROM_NP[np.dtype(d)]
    except (TypeError, KeyError):
        pass
    name = getattr(d, "__module__", "")
    if name.startswith("torch"):
        return _BY_NAME[str(d).split(".")[-1]]
    raise TypeError(f"unsupported dtype {d!r}; supported: {', '.join(x.name for x in ALL_DTYPES)}")


def from_numpy_dtype(npd) -> dtype:
    try:
        return _FROM_NP[npd]
    except KeyError:
        raise TypeError(f"NumPy dtype {npd} has no Tessera equivalent") from None


# Promotion lattice: same category -> wider type; bfloat16 and float16 meet at float32;
# uint8 and a signed int8 meet at int16 (as in PyTorch).
def promote_types(a, b) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, by PyTorch's table."""
    a, b = as_dtype(a), as_dtype(b)
    if a is b:
        return a
    if a.category == _COMPLEX or b.category == _COMPLEX:  # complex wins, with the wider precision
        if a.category == b.category:
            return a if a._rank > b._rank else b
        c, other = (a, b) if a.category == _COMPLEX else (b, a)
        return complex128 if other is float64 else c
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == _FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a._rank > b._rank else b
    if a.category == _INT:
        if uint8 in (a, b):
            other = b if a is uint8 else a
            return int16 if other is int8 else other
        return a if a._rank > b._rank else b
    return a


def _combine(higher, lower):
    """PyTorch's combine_categories: a lower priority class only matters if it is of a higher category."""
    if higher is None:
        return lower
    if lower is None or higher.category == _COMPLEX:
        return higher
    if lower.category == _COMPLEX:  # a float keeps its precision: float64 tensor + 1j -> complex128
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


_RESULT_CACHE: dict = {}


def _scalar_dtype(x):
    t = type(x)
    if t is builtins.bool or t is np.bool_:
        return bool
    if t is builtins.int:
        return int64
    if t is builtins.float:
        return _default_float
    if t is builtins.complex:
        return complex128 if _default_float is float64 else complex64
    if isinstance(x, np.generic):
        return from_numpy_dtype(x.dtype)
    return None


def result_type_key(key) -> dtype:
    """Result dtype for ``key``: a tuple of (priority, dtype) pairs, priority 0 = tensor with dims,
    1 = zero-dim tensor, 2 = Python scalar."""
    r = _RESULT_CACHE.get(key)
    if r is None:
        tiers = [None, None, None]
        for tier, d in key:
            tiers[tier] = d if tiers[tier] is None else promote_types(tiers[tier], d)
        r = _combine(tiers[0], _combine(tiers[1], tiers[2]))
        _RESULT_CACHE[key] = r
    return r


def result_type(*operands) -> dtype:
    """The dtype an arithmetic op on ``operands`` (tensors and Python scalars) produces, as in PyTorch."""
    key = []
    for x in operands:
        d = getattr(x, "dtype", None)
        if d.__class__ is dtype:
            key.append((0 if x.ndim else 1, d))
        elif isinstance(x, np.ndarray):
            key.append((0 if x.ndim else 1, from_numpy_dtype(x.dtype)))
        else:
            sd = _scalar_dtype(x)
            if sd is None:
                raise TypeError(f"result_type: unsupported operand of type {type(x).__name__}")
            key.append((2, sd))
    return result_type_key(tuple(key))


def can_cast(from_, to) -> builtins.bool:
    """Whether PyTorch's type-promotion rules allow an in-place op of dtype ``from_`` into ``to``."""
    from_, to = as_dtype(from_), as_dtype(to)
    return from_.category <= to.category


class finfo:
    """Machine limits of a floating dtype: ``ts.finfo(ts.float32).eps``."""

    def __init__(self, d=None):
        d = as_dtype(d if d is not None else _default_float)
        if not d.is_floating_point:
            raise TypeError(f"finfo: {d} is not a floating dtype")
        if d is bfloat16:
            import ml_dtypes

            info = ml_dtypes.finfo(d.np)
        else:
            info = np.finfo(d.np)
        self.dtype, self.bits = d, d.itemsize * 8
        self.eps, self.max, self.min = (
            builtins.float(info.eps),
            builtins.float(info.max),
            builtins.float(info.min),
        )
        self.tiny = self.smallest_normal = builtins.float(info.tiny)
        self.resolution = builtins.float(info.resolution)


class iinfo:
    """Limits of an integer dtype: ``ts.iinfo(ts.int32).max``."""

    def __init__(self, d):
        d = as_dtype(d)
        if d.category != _INT:
            raise TypeError(f"iinfo: {d} is not an integer dtype")
        info = np.iinfo(d.np)
        self.dtype, self.bits, self.min, self.max = (
            d,
            d.itemsize * 8,
            builtins.int(info.min),
            builtins.int(info.max),
        )
