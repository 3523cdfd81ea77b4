"""The Keras ``Layer`` base class, symbolic ``KerasTensor``s for the functional API, ``InputLayer``/``Input``
and ``InputSpec``.

A ``Layer`` is a ``ts.nn.Module`` whose weights are created lazily: the first call runs
``build(input_shape)`` (``input_shape`` includes the batch dimension, None when unknown), where the layer
creates its weights with ``add_weight``. Calling a layer on a ``KerasTensor`` (from ``Input``) builds it
from the symbolic shape, records a ``Node`` (the layer and its inbound tensors) and returns KerasTensors
with the inferred output shapes: the functional ``Model`` replays those nodes.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np

from ...core import creation
from ...core import dtypes as _dt
from ...core.allocator import allocate
from ...core.dispatch import intercept
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ...nn.containers import ModuleList
from ...nn.module import Module
from ...nn.parameter import Parameter
from .. import initializers as _initializers
from .. import regularizers as _regularizers

__all__ = [
    "Layer",
    "InputSpec",
    "KerasTensor",
    "Node",
    "InputLayer",
    "Input",
    "clear_session",
    "to_snake_case",
    "OpLayer",
    "GetItem",
    "symbolic_op",
    "apply_op",
]

# -- names ---------------------------------------------------------------------------------------------------
_NAME_COUNTS: dict[str, int] = {}


def to_snake_case(name: str) -> str:
    """Keras's class-name to layer-name rule: ``Conv2D`` -> ``conv2d``, ``ReLU`` -> ``re_lu``."""
    s = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``... (per session, like Keras)."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset the automatic layer-name counters (``dense``, ``dense_1``... start again)."""
    _NAME_COUNTS.clear()


# -- nested structures ---------------------------------------------------------------------------------------
def flatten(struct) -> list:
    """The leaves of nested lists/tuples/dicts, in order."""
    if isinstance(struct, (list, tuple)):
        return [leaf for s in struct for leaf in flatten(s)]
    if isinstance(struct, dict):
        return [leaf for k in struct for leaf in flatten(struct[k])]
    return [struct]


def map_structure(fn, struct):
    """``struct`` with every leaf replaced by ``fn(leaf)`` (lists, tuples and dicts keep their type)."""
    if isinstance(struct, list):
        return [map_structure(fn, s) for s in struct]
    if isinstance(struct, tuple):
        return tuple(map_structure(fn, s) for s in struct)
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    return fn(struct)


def _has_keras_tensor(args, kwargs) -> bool:
    for a in args:
        if isinstance(a, KerasTensor):
            return True
        if isinstance(a, (list, tuple)) and any(isinstance(b, KerasTensor) for b in flatten(a)):
            return True
    return any(isinstance(v, KerasTensor) for v in flatten(kwargs)) if kwargs else False


# -- masks ---------------------------------------------------------------------------------------------------
_SCOPE: list = []  # the layers whose call or build is running: Keras's name scopes, for weight paths


class name_scope:  # noqa: N801 - used like Keras's backend.name_scope
    """``with name_scope(layer):`` weights created inside get paths under ``layer.name``."""

    def __init__(self, layer) -> None:
        self.layer = layer

    def __enter__(self):
        _SCOPE.append(self.layer)
        return self

    def __exit__(self, *exc) -> None:
        _SCOPE.pop()


_MASKS_SEEN = [False]  # until some layer attaches a mask, layer calls that make none skip all mask work


def get_keras_mask(x):
    """The mask a Keras layer attached to tensor ``x`` (``x._keras_mask``), or None."""
    return getattr(x, "_keras_mask", None) if isinstance(x, Tensor) else None


def set_keras_mask(x, mask) -> None:
    """Attach ``mask`` to tensor ``x`` as ``x._keras_mask`` (None removes it)."""
    if mask is not None:
        _MASKS_SEEN[0] = True
    x._keras_mask = mask


def _masks_of(x):
    """The masks of ``x``'s tensors, in its structure; None when none has one."""
    if isinstance(x, Tensor):
        return getattr(x, "_keras_mask", None)
    if isinstance(x, (list, tuple)):
        masks = [_masks_of(v) for v in x]
        return masks if any(m is not None for m in masks) else None
    return None


def _is_tensor_arg(v) -> bool:
    if isinstance(v, Tensor):
        return True
    return isinstance(v, (list, tuple)) and any(isinstance(b, Tensor) for b in flatten(v))


def _shape_of(x):
    if isinstance(x, (Tensor, KerasTensor)):
        return tuple(x.shape)
    if isinstance(x, np.ndarray):
        return x.shape
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    return None


class _StringDType:
    """Keras's ``"string"`` dtype of symbolic inputs: text features stay NumPy string arrays, which the text
    preprocessing layers (``TextVectorization``, ``StringLookup``, ``Hashing``) read."""

    name = "string"
    is_floating_point = False
    is_complex = False
    np = np.dtype(object)

    def __repr__(self) -> str:
        return "string"


STRING = _StringDType()


def _as_dtype(dtype, default=None):
    if dtype is STRING or dtype in ("string", "str", str):
        return STRING
    if dtype is None:
        if default is not None:
            return default
        from .. import config  # the global dtype policy (floatx by default)

        return _dt.as_dtype(config.dtype_policy().variable_dtype)
    if type(dtype).__name__ == "DTypePolicy":
        dtype = dtype.name
    elif isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":  # a Keras 3 config's policy
        dtype = (dtype.get("config") or {}).get("name")
    try:
        return _dt.as_dtype(dtype)
    except Exception:  # noqa: BLE001
        raise TypeError(f"invalid dtype {dtype!r}") from None


def _fmt_shape(shape) -> str:
    return str(tuple(shape)).replace(",)", ")") if len(shape) != 1 else f"({shape[0]},)"


# -- symbolic tensors ----------------------------------------------------------------------------------------
class Node:
    """One call of a layer on symbolic tensors: the call's ``args``/``kwargs`` (KerasTensors inside), the
    flat list of inbound KerasTensors and the output structure."""

    __slots__ = ("layer", "args", "kwargs", "inputs", "outputs", "flat_outputs")

    def __init__(self, layer, args, kwargs, inputs):
        self.layer, self.args, self.kwargs, self.inputs = layer, args, kwargs, inputs
        self.outputs = None
        self.flat_outputs = []


class KerasTensor:
    """A symbolic tensor of the functional API: a shape (None for unknown dimensions), a dtype and the node
    that produced it.

    Example:
        >>> x = ts.keras.Input(shape=(10,))
        >>> x.shape
        (None, 10)
    """

    __slots__ = ("shape", "dtype", "name", "node", "index")

    def __init__(self, shape, dtype, node: Node, index: int, name: str):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.node, self.index, self.name = node, index, name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def _keras_history(self):
        return self.node.layer, self.node, self.index

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value (it only describes a shape in a model graph)"
        )

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "A symbolic KerasTensor cannot be converted to an array: it is a placeholder for building a "
            "functional Model; call the model on real data instead"
        )

    def reshape(self, *shape):
        return apply_op("reshape", *((self,) + shape))

    def squeeze(self, axis=None):
        return apply_op("squeeze", self, axis)

    def __iter__(self):
        raise TypeError("A symbolic KerasTensor is not iterable: index it (x[:, 0]) or use keras.ops.unstack")

    def __getitem__(self, key):
        return GetItem(key)(self)


def _binary(name: str, reflected: bool = False):
    if reflected:
        return lambda self, other: apply_op(name, other, self)
    return lambda self, other: apply_op(name, self, other)


# Python operators on KerasTensors record ``OpLayer``s (Keras 3 records them as operations of the graph)
for _dunder, _op in (
    ("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("matmul", "matmul"),
    ("truediv", "true_divide"), ("floordiv", "floor_divide"), ("mod", "mod"), ("pow", "power"),
    ("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor"),
):  # fmt: skip
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op))
    setattr(KerasTensor, f"__r{_dunder}__", _binary(_op, reflected=True))
for _dunder, _op in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                     ("ne", "not_equal")):  # fmt: skip
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op))
for _dunder, _op in (("neg", "negative"), ("abs", "absolute"), ("invert", "logical_not"), ("round", "round")):
    setattr(KerasTensor, f"__{_dunder}__", lambda self, _op=_op: apply_op(_op, self))
KerasTensor.__hash__ = object.__hash__  # __ne__ is an op, identity stays the hash and __eq__


# -- input spec ----------------------------------------------------------------------------------------------
class InputSpec:
    """Constraints a layer puts on its input: ``ndim``, ``min_ndim``, ``max_ndim`` and fixed sizes of some
    ``axes`` (``{-1: 64}``). Violations raise ``ValueError`` naming the layer and the shape seen."""

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, dtype=None):
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})
        self.dtype = dtype

    def check(self, layer: Layer, shape) -> None:
        if shape is None or not isinstance(shape, tuple):
            return
        n = len(shape)
        if self.ndim is not None and n != self.ndim:
            self._fail(layer, f"expected ndim={self.ndim}, found ndim={n}. Full shape received: {shape}")
        if self.min_ndim is not None and n < self.min_ndim:
            self._fail(
                layer, f"expected min_ndim={self.min_ndim}, found ndim={n}. Full shape received: {shape}"
            )
        if self.max_ndim is not None and n > self.max_ndim:
            self._fail(
                layer, f"expected max_ndim={self.max_ndim}, found ndim={n}. Full shape received: {shape}"
            )
        for axis, size in self.axes.items():
            if size is None or -n > axis or axis >= n:
                continue
            if shape[axis] is not None and shape[axis] != size:
                self._fail(
                    layer,
                    f"expected axis {axis} of the input to have value {size}, but received input with shape {shape}",
                )

    @staticmethod
    def _fail(layer, msg):
        raise ValueError(
            f"Input 0 of layer '{layer.name}' ({type(layer).__name__}) is incompatible with the layer: {msg}"
        )

    def __repr__(self) -> str:
        return f"InputSpec(ndim={self.ndim}, min_ndim={self.min_ndim}, axes={self.axes})"


# -- symbolic execution (output shape inference) -------------------------------------------------------------
_PROBING = [0]
_PROBE_LENGTHS = (40, 67)  # unknown dims: two lengths whose images differ under strides up to 27
_META_ZERO: dict = {}  # NumPy dtype -> the 0-d zero that every meta array of that dtype broadcasts
_META_ARRAYS: dict = {}  # (dtype, shape) -> a read-only zero-strided array
_SYMBOLIC: list = []  # the _BUILDING level of each active symbolic run (innermost last)
_BUILDING = [0]  # > 0 while a layer builds (its weights get real values, even inside a symbolic call)


def _meta_tensor(shape, dtype) -> Tensor:
    """A tensor that only has a shape and a dtype: a zero-strided view of one zero (no memory, no compute).
    The read-only arrays are cached by (dtype, shape): an RNN's symbolic call makes thousands of them."""
    if dtype is STRING:  # placeholder text: empty strings
        return np.full(tuple(shape), "", dtype=object)
    key = (dtype, tuple(shape))
    arr = _META_ARRAYS.get(key)
    if arr is None:
        npd = np.dtype(dtype.np)
        zero = _META_ZERO.get(npd)
        if zero is None:
            zero = _META_ZERO[npd] = np.zeros((), npd)
        if len(_META_ARRAYS) > 4096:
            _META_ARRAYS.clear()
        arr = _META_ARRAYS[key] = np.broadcast_to(zero, key[1])
    return Tensor._wrap(arr)


def _is_meta(t) -> bool:
    """Whether ``t`` is a placeholder made by a symbolic call (for tests: none may end up in layer state)."""
    if not isinstance(t, Tensor):
        return False
    arr = t._data
    return arr.base is not None and arr.base is _META_ZERO.get(arr.dtype)


def in_symbolic_call() -> bool:
    """True while layer code runs symbolically (on meta tensors, outside a build): values are placeholders,
    so a layer may skip work that cannot change its output shapes (an RNN runs two time steps)."""
    return bool(_SYMBOLIC) and _SYMBOLIC[-1] == _BUILDING[0]


class _Building:
    """While a layer creates its weights, ops run for real (initializers must give real values)."""

    def __enter__(self):
        _BUILDING[0] += 1

    def __exit__(self, *exc):
        _BUILDING[0] -= 1


class _Probe:
    """Evaluation mode, no gradients and no loss recording while a layer runs on placeholder inputs."""

    def __init__(self, layer):
        self.layer = layer

    def __enter__(self):
        self.flags = [(m, m.training) for m in self.layer.modules()]
        for m, _ in self.flags:
            m.__dict__["training"] = False
        self.ng = no_grad()
        self.ng.__enter__()
        _PROBING[0] += 1

    def __exit__(self, *exc):
        _PROBING[0] -= 1
        self.ng.__exit__(*exc)
        for m, f in self.flags:
            m.__dict__["training"] = f


class _Symbolic(_Probe):
    """Run a layer on meta tensors: every op returns a meta tensor built from its shape rule
    (``infer_meta``) instead of computing. In-place and state-updating ops (``out=``, ``mutates``) return
    their target untouched, so a symbolic call changes no state; builds reached during the call (sublayers
    built lazily) run their initializers for real."""

    def __enter__(self):
        super().__enter__()
        level = _BUILDING[0]

        def meta_op(call):
            if _BUILDING[0] != level:
                return call.proceed()
            if call.out is not None:
                return call.out
            mutates = call.op.mutates
            if mutates:
                return call.args[mutates[0]]
            m = call.meta()
            return _meta_tensor(m.shape, m.dtype)

        self.ic = intercept(meta_op)
        self.ic.__enter__()
        _SYMBOLIC.append(level)

    def __exit__(self, *exc):
        _SYMBOLIC.pop()
        self.ic.__exit__(*exc)
        super().__exit__(*exc)


_ACCEPTS_CACHE: dict = {}


def _call_accepts(layer, name: str) -> bool:
    op_fn = layer.__dict__.get("_fn") if isinstance(layer, OpLayer) else None
    key = (type(layer) if op_fn is None else op_fn, name)
    r = _ACCEPTS_CACHE.get(key)
    if r is None:
        fn = op_fn or (layer.call if type(layer).call is not Layer.call else layer.forward)
        try:
            params = inspect.signature(fn).parameters
            # a keras.ops function's **kwargs (einsum's) never means training=/mask=
            r = name in params or (op_fn is None and any(p.kind is p.VAR_KEYWORD for p in params.values()))
        except (TypeError, ValueError):
            r = True
        _ACCEPTS_CACHE[key] = r
    return r


_ARG_NAMES_CACHE: dict = {}


def _call_arg_names(layer) -> tuple:
    """The named parameters of the layer's ``call`` (what Keras matches ``mask``/``<arg>_mask`` against)."""
    key = type(layer)
    r = _ARG_NAMES_CACHE.get(key)
    if r is None:
        fn = layer.call if type(layer).call is not Layer.call else layer.forward
        try:
            params = inspect.signature(fn).parameters.values()
            r = tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        except (TypeError, ValueError):
            r = ()
        _ARG_NAMES_CACHE[key] = r
    return r


_BASE_KWARGS = ("input_shape", "batch_input_shape", "batch_size", "input_dim", "activity_regularizer")


class Variable(Parameter):
    """A trainable Keras weight: a ``Parameter`` that also has Keras's ``name`` (``"kernel"``), ``path``
    (``"dense/kernel"``, what ``MultiOptimizer`` maps and weight-decay exclusion match), ``constraint``
    (applied by the Keras optimizers after each update), ``value`` and ``assign``.

    Example:
        >>> layer = ts.keras.layers.Dense(2, name="dense_demo"); _ = layer(ts.ones(1, 3))
        >>> layer.kernel.path, layer.kernel.name
        ('dense_demo/kernel', 'kernel')
    """

    __slots__ = ("constraint", "path", "_keras_name")

    @property
    def name(self) -> str:
        return getattr(self, "_keras_name", None) or "variable"

    @property
    def value(self) -> Tensor:
        """The variable itself (Keras code reads ``v.value``)."""
        return self

    @property
    def trainable(self) -> bool:
        return self.requires_grad

    def assign(self, value) -> Variable:
        """Write ``value`` into the variable in place (an op: the compiler and autograd see it).

        Example:
            >>> layer = ts.keras.layers.Dense(1); _ = layer(ts.ones(1, 1))
            >>> layer.kernel.assign([[2.0]]).tolist()
            [[2.0]]
        """
        src = value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value, dtype=self.dtype.np))
        if tuple(src.shape) != tuple(self.shape):
            raise ValueError(
                f"Variable.assign: the value's shape {tuple(src.shape)} does not match variable "
                f"'{self.path}' of shape {tuple(self.shape)}"
            )
        with no_grad():
            self.copy_(src)
        return self

    def assign_add(self, value) -> Variable:
        return self.assign(self.detach() + value)

    def assign_sub(self, value) -> Variable:
        return self.assign(self.detach() - value)


class Layer(Module):
    """Base class of Keras layers: an ``nn.Module`` that creates its weights on first call.

    Subclasses implement ``build(input_shape)`` (creating weights with ``add_weight``) and ``call(inputs)``;
    ``forward`` runs ``call``. Keyword arguments: ``name`` (default: the snake-cased class name made unique,
    ``dense``, ``dense_1``...), ``trainable``, ``dtype`` (``'float32'``), ``input_shape``/``batch_input_shape``
    (lets ``Sequential`` build eagerly), ``activity_regularizer``.

    Example:
        >>> class Scale(ts.keras.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.w
        >>> Scale()(ts.randn(2, 3)).shape
        tessera.Size([2, 3])
    """

    _autocast = True

    def __init__(self, trainable: bool = True, name: str | None = None, dtype=None, **kwargs):
        if kwargs.get("quantization_config", False) is None:  # in Keras 3.1x configs; None: no quantization
            del kwargs["quantization_config"]
        unknown = [k for k in kwargs if k not in _BASE_KWARGS]
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}")
        super().__init__()
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {type(name).__name__}")
        d = self.__dict__
        d["_name"] = name or unique_name(to_snake_case(type(self).__name__))
        d["_trainable"] = bool(trainable)
        d["_dtype"] = _as_dtype(dtype)
        d["built"] = False
        d["_build_input_shape"] = None
        d["_weight_names"] = []  # (attribute name, trainable) in creation order
        d["_regularizers"] = []  # (attribute name, regularizer)
        d["_call_losses"] = []
        d["_inbound_nodes"] = []
        d["_last_out_shape"] = None
        d["input_spec"] = None
        d["activity_regularizer"] = _regularizers.get(kwargs.get("activity_regularizer"))
        batch_shape = kwargs.get("batch_input_shape")
        if batch_shape is None and kwargs.get("input_shape") is not None:
            batch_shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        if batch_shape is None and kwargs.get("input_dim") is not None:
            batch_shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        d["_batch_input_shape"] = None if batch_shape is None else tuple(batch_shape)

    # -- attributes ---------------------------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, Module) for v in value)
            and "_modules" in self.__dict__
        ):
            value = ModuleList(value)  # Keras tracks lists of layers assigned as attributes
        super().__setattr__(name, value)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights, as a string (``'float32'``)."""
        return self._compute_dtype().name

    def _compute_dtype(self):
        for p in self._parameters.values():
            if p is not None:
                return p.dtype
        return self._dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self.__dict__["_trainable"] = value
        for n, tr in self._weight_names:
            if tr:
                getattr(self, n).requires_grad_(value)
        for m in self._modules.values():
            if isinstance(m, Layer):
                m.trainable = value
            elif m is not None:
                if isinstance(m, ModuleList):
                    for sub in m:
                        if isinstance(sub, Layer):
                            sub.trainable = value
                        else:
                            sub.requires_grad_(value)
                else:
                    m.requires_grad_(value)

    @property
    def output(self):
        """The symbolic output of the layer's first call on KerasTensors."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input: no output")
        return self._inbound_nodes[0].outputs

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input: no input")
        node = self._inbound_nodes[0]
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    @property
    def output_shape(self):
        if self._inbound_nodes:
            outs = self._inbound_nodes[0].flat_outputs
            return outs[0].shape if len(outs) == 1 else [o.shape for o in outs]
        if self._last_out_shape is not None:
            return self._last_out_shape
        raise AttributeError(f"Layer '{self.name}' has no defined output shape yet (it has not been called)")

    # -- weights ------------------------------------------------------------------------------------------
    def add_weight(
        self,
        name: str | None = None,
        shape=(),
        dtype=None,
        initializer=None,
        regularizer=None,
        trainable: bool = True,
        constraint=None,
        **kwargs,
    ):
        """Create a weight, register it (a ``Parameter``, or a buffer when ``trainable=False``) as attribute
        ``name`` and return it. ``initializer`` is a Keras name (default ``'glorot_uniform'`` for floats,
        ``'zeros'`` otherwise), an initializer object or ``fn(shape, dtype)``; ``regularizer`` adds a
        penalty to ``layer.losses``."""
        if constraint is not None:
            from .. import constraints as _constraints

            constraint = _constraints.get(constraint)
        kwargs.pop("use_resource", None)
        kwargs.pop("synchronization", None)
        kwargs.pop("aggregation", None)
        if kwargs:
            raise TypeError(f"Layer '{self.name}': add_weight got unexpected arguments {sorted(kwargs)}")
        if name is None:
            name = f"weight_{len(self._weight_names)}"
        shape = tuple(shape)
        if any(not isinstance(s, (int, np.integer)) or s < 0 for s in shape):
            raise ValueError(
                f"Layer '{self.name}': cannot create weight '{name}' with shape {shape}: every dimension must be "
                "a known non-negative int (is the input shape fully defined?)"
            )
        dt = _as_dtype(dtype, self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dt.is_floating_point else "zeros"
        init = _initializers.get(initializer)
        with _Building():
            value = allocate(f"Layer '{self.name}': weight '{name}'", shape, dt.np, init, shape, dtype=dt)
        arr = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
        t = Tensor._wrap(np.array(arr, dtype=dt.np, copy=True).reshape(shape))
        if trainable:
            w = Variable(t, requires_grad=self._trainable and dt.is_floating_point)
            w.path, w._keras_name = self._weight_path(name), name
            setattr(self, name, w)
        else:
            self.register_buffer(name, t)
            w = t
        if constraint is not None and trainable:
            w.constraint = constraint  # the Keras optimizers apply it after each update
        self._weight_names.append((name, bool(trainable)))
        if regularizer is not None:
            self._regularizers.append((name, _regularizers.get(regularizer)))
        return w

    def _own_weights(self) -> list:
        return [getattr(self, n) for n, tr in self._weight_names if tr] + [
            getattr(self, n) for n, tr in self._weight_names if not tr
        ]

    @property
    def weights(self) -> list:
        """All weights: this layer's (trainable ones first, in creation order), then its sublayers'."""
        out, seen = [], set()

        def add(ws):
            for w in ws:
                if w is not None and id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)

        add(self._own_weights())
        for m in self._modules.values():
            for sub in m if isinstance(m, ModuleList) else (m,):
                if isinstance(sub, Layer):
                    add(sub.weights)
                elif sub is not None:
                    add(sub.parameters())
                    add(sub.buffers())
        return out

    @property
    def trainable_weights(self) -> list:
        return [w for w in self.weights if isinstance(w, Parameter) and w.requires_grad]

    @property
    def non_trainable_weights(self) -> list:
        return [w for w in self.weights if not (isinstance(w, Parameter) and w.requires_grad)]

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable_variables(self) -> list:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        return self.non_trainable_weights

    def get_weights(self) -> list:
        """Copies of the weights as NumPy arrays, in ``weights`` order."""
        return [np.array(w.detach().numpy(), copy=True) for w in self.weights]

    def set_weights(self, weights) -> None:
        """Overwrite the weights from a list of arrays in ``weights`` order (checked before any change)."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}': set_weights expected a list of {len(params)} arrays (weights "
                f"{[tuple(p.shape) for p in params]}), got {len(weights)}"
            )
        arrays = []
        for i, (p, w) in enumerate(zip(params, weights)):
            a = w.detach().numpy() if isinstance(w, Tensor) else np.asarray(w)
            if a.shape != tuple(p.shape):
                raise ValueError(
                    f"Layer '{self.name}': weight {i} has shape {tuple(p.shape)}, but the provided array has "
                    f"shape {a.shape}"
                )
            arrays.append(a)
        with no_grad():
            for p, a in zip(params, arrays):
                p.copy_(Tensor._wrap(a))

    def count_params(self) -> int:
        """The number of scalars in all weights (trainable or not)."""
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                "Build it first by calling it on data or with `build(input_shape)`"
            )
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # -- losses -------------------------------------------------------------------------------------------
    @property
    def losses(self) -> list:
        """Scalar penalties: weight regularizers (computed from the current weights, differentiable) and the
        activity regularizers / ``add_loss`` values of the last call, of this layer and its sublayers."""
        out = []
        for m in self.modules():
            if isinstance(m, Layer):
                for name, reg in m._regularizers:
                    out.append(reg(getattr(m, name)))
                out.extend(m._call_losses)
        return out

    def add_loss(self, loss) -> None:
        """Record a scalar loss for the current call (reported by ``losses`` until the next call)."""
        if not _PROBING[0]:
            self._call_losses.append(loss)

    # -- building -----------------------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (override; the base does nothing)."""
        self.built = True

    def _build_shapes(self, args, kwargs):
        """The argument passed to ``build`` for this call: the shape (structure) of the first input."""
        return _shape_of(args[0]) if args else None

    def _do_build(self, shapes) -> None:
        if self.input_spec is not None and isinstance(shapes, tuple):
            self.input_spec.check(self, shapes)
        _SCOPE.append(self)
        try:
            with _Building():
                self.build(shapes)
        finally:
            _SCOPE.pop()
        d = self.__dict__
        d["built"] = True
        d["_build_input_shape"] = shapes

    def get_build_config(self) -> dict | None:
        """``{"input_shape": ...}`` once built (used by saving to rebuild before loading weights)."""
        if not self.built or self._build_input_shape is None:
            return None
        return {"input_shape": _jsonable_shape(self._build_input_shape)}

    def build_from_config(self, config: dict | None) -> None:
        if config and config.get("input_shape") is not None and not self.built:
            self._do_build(_shape_from_json(config["input_shape"]))

    # -- calling ------------------------------------------------------------------------------------------
    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call()")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def _convert(self, x, dtype):
        if isinstance(x, Tensor):
            if dtype is not None and x.dtype is not dtype and x.dtype.is_floating_point:
                return x.to(dtype)
            return x
        if isinstance(x, np.ndarray) and x.dtype.kind not in "USO":  # string arrays: for text layers
            t = creation.as_tensor(x)
            if dtype is not None and t.dtype.is_floating_point and t.dtype is not dtype:
                t = t.to(dtype)
            return t
        if isinstance(x, list):
            return [self._convert(v, dtype) for v in x]
        if isinstance(x, tuple):
            return tuple(self._convert(v, dtype) for v in x)
        return x

    def _filter_kwargs(self, kwargs):
        for k in ("training", "mask"):
            if k in kwargs and not _call_accepts(self, k):
                kwargs = dict(kwargs)
                del kwargs[k]
        return kwargs

    def __call__(self, *args, **kwargs):
        _SCOPE.append(self)
        try:
            if _has_keras_tensor(args, kwargs):
                return self._symbolic_call(args, kwargs)
            if _MASKS_SEEN[0] or type(self)._computes_mask:
                return self._masked_call(args, kwargs)
            return self._eager_call(args, kwargs)
        finally:
            _SCOPE.pop()

    def _weight_path(self, name: str) -> str:
        """Keras's variable path: the names of the layers being called or built, outermost first, then the
        weight's (``"sequential/dense/kernel"`` for a layer built inside a model)."""
        chain = []
        for layer in _SCOPE:
            if not chain or chain[-1] is not layer:
                chain.append(layer)
        if not chain or chain[-1] is not self:
            chain.append(self)
        return "/".join([layer.name for layer in chain] + [name])

    def _masked_call(self, args, kwargs):
        """Keras's mask plumbing around an eager call: the inputs' ``_keras_mask`` fills the call's ``mask``
        argument (``<arg>_mask`` for each of several tensor arguments) unless given, and a layer that
        ``supports_masking`` attaches ``compute_mask(inputs, previous_mask)`` to its outputs."""
        first = args[0] if args else None
        tensor_args = [(i, a) for i, a in enumerate(args) if _is_tensor_arg(a)]
        if len(tensor_args) == 1 and not any(_is_tensor_arg(v) for k, v in kwargs.items() if k != "mask"):
            if kwargs.get("mask") is None and "mask" in _call_arg_names(self):
                m = _masks_of(tensor_args[0][1])
                if m is not None:
                    kwargs = {**kwargs, "mask": m}
        elif len(tensor_args) > 1:
            names = _call_arg_names(self)
            for i, a in tensor_args:
                key = f"{names[i]}_mask" if i < len(names) else None
                if key is not None and key in names and kwargs.get(key) is None:
                    m = _masks_of(a)
                    if m is not None:
                        kwargs = {**kwargs, key: m}
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            previous_mask = _masks_of(first)
        out = self._eager_call(args, kwargs)
        if self.supports_masking:
            flat = [o for o in flatten(out) if isinstance(o, Tensor)]
            if flat and not all(getattr(o, "_keras_mask", None) is not None for o in flat):
                if isinstance(first, np.ndarray):
                    first = creation.as_tensor(first)
                masks = self.compute_mask(first, previous_mask)
                if masks is not None:
                    for o, m in zip(flat, flatten(masks)):
                        if m is not None and getattr(o, "_keras_mask", None) is None:
                            set_keras_mask(o, m)
        elif previous_mask is not None and not _PROBING[0]:
            warnings.warn(
                f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a mask attached "
                "to it. However, this layer does not support masking and will therefore destroy the mask "
                "information. Downstream layers will not see the mask.",
                stacklevel=3,
            )
        return out

    @property
    def supports_masking(self) -> bool:
        """Whether the layer passes masks on (``compute_mask``): True for layers that override it, for
        the layers Keras marks so, and wherever it is set."""
        v = self.__dict__.get("_supports_masking")
        return type(self)._computes_mask if v is None else v

    @supports_masking.setter
    def supports_masking(self, value) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs for ``inputs`` whose mask is ``previous_mask`` (the base keeps it)."""
        return previous_mask

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A layer that makes masks (Embedding, Masking, RNNs...) runs the mask plumbing on every call
        cls._computes_mask = cls.compute_mask is not Layer.compute_mask

    def _eager_call(self, args, kwargs):
        dtype = self._compute_dtype() if self._autocast and self._dtype.is_floating_point else None
        args = tuple(self._convert(a, dtype) for a in args)
        if not self.built:
            self._do_build(self._build_shapes(args, kwargs))
        spec = self.input_spec
        if spec is not None and args and isinstance(args[0], Tensor):
            spec.check(self, tuple(args[0].shape))
        if kwargs:
            kwargs = self._filter_kwargs(kwargs)
        d = self.__dict__
        if d["_call_losses"]:
            d["_call_losses"] = []
        out = super().__call__(*args, **kwargs)
        if isinstance(out, Tensor):
            d["_last_out_shape"] = (None,) + tuple(out.shape)[1:] if out.ndim else ()
        if self.activity_regularizer is not None and not _PROBING[0]:
            for o in flatten(out):
                if isinstance(o, Tensor) and o.dtype.is_floating_point:
                    n = o.shape[0] if o.ndim else 1
                    d["_call_losses"].append(self.activity_regularizer(o) / max(n, 1))
        return out

    def _symbolic_call(self, args, kwargs):
        inputs = [v for v in flatten((args, kwargs)) if isinstance(v, KerasTensor)]
        if kwargs:
            kwargs = self._filter_kwargs(kwargs)
        if not self.built:
            self._do_build(self._build_shapes(args, kwargs))
        if self.input_spec is not None and args and isinstance(args[0], KerasTensor):
            self.input_spec.check(self, args[0].shape)
        specs = self._infer_outputs(args, kwargs, inputs)
        node = Node(self, args, kwargs, inputs)
        counter = [0]
        nodes_index = len(self._inbound_nodes)

        def make(spec):
            if not isinstance(spec, _OutSpec):
                return spec
            i = counter[0]
            counter[0] += 1
            name = self.name if nodes_index == 0 and i == 0 else f"{self.name}_{nodes_index}_{i}"
            return KerasTensor(spec.shape, spec.dtype, node, i, name)

        node.outputs = map_structure(make, specs)
        node.flat_outputs = [o for o in flatten(node.outputs) if isinstance(o, KerasTensor)]
        self._inbound_nodes.append(node)
        return node.outputs

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (inferred by running the layer on placeholder zeros)."""
        struct = map_structure(
            lambda s: s, input_shape if isinstance(input_shape, list) else tuple(input_shape)
        )
        node = Node(None, (), {}, [])
        if isinstance(struct, list):
            fake = [KerasTensor(s, self._dtype, node, 0, "x") for s in struct]
        else:
            fake = KerasTensor(struct, self._dtype, node, 0, "x")
        specs = self._infer_outputs((fake,), {}, flatten(fake))
        return map_structure(lambda s: s.shape if isinstance(s, _OutSpec) else s, specs)

    def _infer_outputs(self, args, kwargs, inputs):
        """Output (shape, dtype) structure: run symbolically (meta tensors, see ``_Symbolic``) with batch size
        1; unknown non-batch dimensions are tried at two lengths and the output dimensions that change
        become None."""
        batch_unknown = any(kt.shape and kt.shape[0] is None for kt in inputs)
        other_unknown = any(d is None for kt in inputs for d in kt.shape[1:])

        def run(length):
            def meta(v):
                if not isinstance(v, KerasTensor):
                    return v
                shape = [(1 if i == 0 else length) if d is None else d for i, d in enumerate(v.shape)]
                return _meta_tensor(shape, v.dtype)

            a = map_structure(meta, args)
            k = map_structure(meta, kwargs)
            with _Symbolic(self):
                try:
                    return self.forward(*a, **k)
                except Exception as e:  # noqa: BLE001
                    shapes = ", ".join(str(kt.shape) for kt in inputs)
                    raise type(e)(
                        f"{e}\n(while calling layer '{self.name}' on symbolic input(s) {shapes})"
                    ) from e

        out1 = run(_PROBE_LENGTHS[0])
        out2 = run(_PROBE_LENGTHS[1]) if other_unknown else None
        flat2 = flatten(out2) if out2 is not None else None
        counter = [0]

        def spec(o):
            i = counter[0]
            counter[0] += 1
            if not isinstance(o, Tensor):
                return o
            shape = list(o.shape)
            if flat2 is not None:
                o2 = flat2[i]
                shape = [None if a != b else a for a, b in zip(shape, o2.shape)]
            if batch_unknown and shape:
                shape[0] = None
            return _OutSpec(tuple(shape), o.dtype)

        return map_structure(spec, out1)

    # -- config -------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments as a JSON-serialisable dict (``from_config`` inverts it)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype.name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def extra_repr(self) -> str:
        parts = [f"name={self.name!r}"]
        try:
            cfg = self.get_config()
        except NotImplementedError:
            return parts[0]
        for k, v in cfg.items():
            if k in ("name", "trainable", "dtype") or v is None or isinstance(v, dict):
                continue
            parts.append(f"{k}={v!r}")
        return ", ".join(parts)


class _OutSpec:
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def _jsonable_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    if isinstance(shape, list) and any(isinstance(s, (list, tuple)) for s in shape):
        return [_jsonable_shape(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _shape_from_json(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [_shape_from_json(s) for s in shape]
    return tuple(shape)


# -- inputs --------------------------------------------------------------------------------------------------
class InputLayer(Layer):
    """The entry point of a functional model: holds the symbolic input tensor ``output``.

    Example:
        >>> layer = ts.keras.layers.InputLayer(shape=(28, 28, 1))
        >>> layer.output.shape
        (None, 28, 28, 1)
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        name=None,
        batch_shape=None,
        input_shape=None,
        batch_input_shape=None,
        sparse=None,
        ragged=None,
        trainable=True,
        optional=False,
    ):
        if sparse or ragged:
            raise NotImplementedError("InputLayer: sparse and ragged inputs are not supported")
        if optional:
            raise NotImplementedError("InputLayer: optional inputs (optional=True) are not supported")
        shape = input_shape if shape is None else shape
        batch_shape = batch_input_shape if batch_shape is None else batch_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: either shape or batch_shape must be given")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, trainable=trainable)
        self.__dict__["built"] = True
        self.__dict__["_batch_shape"] = batch_shape
        node = Node(self, (), {}, [])
        node.outputs = KerasTensor(batch_shape, self._dtype, node, 0, self.name)
        node.flat_outputs = [node.outputs]
        self._inbound_nodes.append(node)

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {"batch_shape": list(self._batch_shape), "dtype": self._dtype.name, "name": self.name}


def Input(
    shape=None,
    batch_size=None,
    name=None,
    dtype=None,
    sparse=None,
    tensor=None,
    ragged=None,
    batch_shape=None,
) -> KerasTensor:
    """A symbolic input for the functional API: ``Input(shape=(10,))`` has shape (None, 10).

    Example:
        >>> inputs = ts.keras.Input(shape=(10,))
        >>> outputs = ts.keras.layers.Dense(1)(inputs)
        >>> ts.keras.Model(inputs, outputs).count_params()
        11
    """
    if tensor is not None:
        raise NotImplementedError("Input: the tensor argument is not supported")
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        name=name,
        batch_shape=batch_shape,
        sparse=sparse,
        ragged=ragged,
    )
    return layer.output


# -- operations on symbolic tensors --------------------------------------------------------------------------
_OP_FUNCTIONS: dict = {}  # op name -> the eager function (keras.ops registers its functions here)


def _op_function(name: str):
    fn = _OP_FUNCTIONS.get(name)
    if fn is None:
        from .. import ops  # noqa: F401  (registers every keras.ops function)

        fn = _OP_FUNCTIONS.get(name)
    if fn is None:
        raise ValueError(f"OpLayer: unknown operation {name!r} (not a keras.ops function)")
    return fn


def symbolic_op(fn=None, *, name: str | None = None):
    """Decorator for ``keras.ops`` functions: on tensors the function runs eagerly; given a ``KerasTensor``
    anywhere in its arguments, the call is recorded as an ``OpLayer`` node of the functional graph and the
    result is a ``KerasTensor`` (shapes inferred by running the function on placeholders).

    Example:
        >>> @symbolic_op
        ... def twice(x):
        ...     return x * 2
        >>> twice(ts.keras.Input((3,))).shape
        (None, 3)
    """

    def wrap(f):
        op_name = name or f.__name__
        _OP_FUNCTIONS[op_name] = f

        def op(*args, **kwargs):
            if _has_keras_tensor(args, kwargs):
                return OpLayer(op_name)(*args, **kwargs)
            return f(*args, **kwargs)

        op.__name__, op.__qualname__, op.__doc__ = f.__name__, f.__qualname__, f.__doc__
        op.__module__, op.__wrapped__ = f.__module__, f
        return op

    return wrap(fn) if fn is not None else wrap


def apply_op(name: str, *args, **kwargs):
    """Apply the ``keras.ops`` function ``name``: recorded as an ``OpLayer`` when an argument is symbolic."""
    if _has_keras_tensor(args, kwargs):
        return OpLayer(name)(*args, **kwargs)
    return _op_function(name)(*args, **kwargs)


class OpLayer(Layer):
    """One ``keras.ops`` function (or Python operator) applied in a functional model: ``x + 1`` or
    ``ops.mean(x, axis=1)`` on ``KerasTensor``s records this layer, whose node keeps the call's other
    arguments; it has no weights and serializes as the function's name.

    Example:
        >>> x = ts.keras.Input((3,))
        >>> type((x * 2).node.layer).__name__
        'OpLayer'
    """

    _autocast = False

    def __init__(self, function: str, name: str | None = None, **kwargs):
        fn = _op_function(function)
        super().__init__(name=name or unique_name(function), **kwargs)
        d = self.__dict__
        d["function"], d["_fn"], d["built"] = function, fn, True

    def call(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def get_config(self) -> dict:
        return {"function": self.function, "name": self.name}


def _encode_key(key):
    if isinstance(key, tuple):
        return {"tuple": [_encode_key(k) for k in key]}
    if isinstance(key, slice):
        return {"slice": [key.start, key.stop, key.step]}
    if key is Ellipsis:
        return {"ellipsis": True}
    if key is None or isinstance(key, (int, np.integer)):
        return None if key is None else int(key)
    if isinstance(key, (list, np.ndarray)):
        return {"list": np.asarray(key).tolist()}
    raise TypeError(
        f"KerasTensor.__getitem__: index {key!r} ({type(key).__name__}) is not supported on a symbolic tensor; "
        "use ints, slices, None, Ellipsis or lists of ints (or keras.ops.take with a tensor of indices)"
    )


def _decode_key(enc):
    if isinstance(enc, dict):
        if "tuple" in enc:
            return tuple(_decode_key(k) for k in enc["tuple"])
        if "slice" in enc:
            return slice(*enc["slice"])
        if "ellipsis" in enc:
            return Ellipsis
        return np.asarray(enc["list"])
    return enc


class GetItem(Layer):
    """``x[key]`` on a ``KerasTensor``: indexing recorded in a functional model (ints, slices, None, ``...``
    and lists of ints), serialized with its key.

    Example:
        >>> x = ts.keras.Input((4, 3))
        >>> x[:, 1:, 0].shape
        (None, 3)
    """

    _autocast = False

    def __init__(self, key, name: str | None = None, **kwargs):
        if isinstance(key, dict):  # from get_config
            key = _decode_key(key)
        encoded = _encode_key(key)
        super().__init__(name=name or unique_name("get_item"), **kwargs)
        d = self.__dict__
        d["key"], d["_encoded_key"], d["built"] = key, encoded, True

    def call(self, x):
        return x[self.key]

    def get_config(self) -> dict:
        return {"key": self._encoded_key, "name": self.name}
