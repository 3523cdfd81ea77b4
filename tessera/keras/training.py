"""The Keras training loop as a mixin: ``Trainer`` gives ``keras.Model`` (an ``nn.Module``) ``compile``,
``fit``, ``evaluate``, ``predict``, ``train_on_batch``, ``test_on_batch`` and ``predict_on_batch``.

Data: NumPy arrays or tensors (also lists/dicts of them for several inputs or outputs), a ``ts.data``
``Dataset`` (batched here with a ``DataLoader``), a ``DataLoader``, or a Python generator/iterator yielding
``(x, y)`` or ``(x, y, sample_weight)`` batches. Float64 arrays are cast to the default float dtype
(Keras's ``floatx``). The model is called as ``model(x)`` with the batch's inputs (a tensor, or the list /
dict of input tensors).

The optimizer (a ``ts.keras.optimizers`` object around a ``ts.optim`` optimizer) is built on the first
training batch, after the forward pass, because Keras layers create their weights on their first call.
``sum(model.losses)`` (the regularization penalties) is added to the loss when the model has ``losses``.

Example:
    >>> import numpy as np
    >>> class Net(Trainer, ts.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = ts.nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.fc(x)
    >>> net = Net()
    >>> net.compile(optimizer="adam", loss=ts.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ...             metrics=["accuracy"])
    >>> history = net.fit(np.random.rand(20, 3), np.random.randint(0, 2, 20), epochs=2, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
"""

from __future__ import annotations

import inspect
import math
import numbers
import types
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core import dtypes as _dt
from ..core.creation import randperm
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ..data import DataLoader, Dataset, IterableDataset
from ..nn.module import Module
from . import callbacks as callbacks_module
from . import config as _config
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module

__all__ = ["Trainer"]


# -- nested structures ---------------------------------------------------------------------------------------
def _is_leaf_array(v) -> bool:
    return isinstance(v, (np.ndarray, Tensor)) or (
        hasattr(v, "__array__") and hasattr(v, "shape") and not isinstance(v, (list, tuple, dict))
    )


def _map(fn, s):
    if isinstance(s, list):
        return [_map(fn, v) for v in s]
    if isinstance(s, tuple):
        return tuple(_map(fn, v) for v in s)
    if isinstance(s, dict):
        return {k: _map(fn, v) for k, v in s.items()}
    return fn(s)


def _leaves(s) -> list:
    if isinstance(s, (list, tuple)):
        return [leaf for v in s for leaf in _leaves(v)]
    if isinstance(s, dict):
        return [leaf for v in s.values() for leaf in _leaves(v)]
    return [s]


def _to_numpy_leaf(v, who: str, what: str) -> np.ndarray:
    """A leaf of the user's data as an array (no copy for tensors and arrays)."""
    if v is None:
        return None
    if isinstance(v, Tensor):
        return v.detach().numpy()
    if isinstance(v, np.ndarray):
        return v
    try:
        arr = np.asarray(v)
    except Exception:
        raise TypeError(f"{who}: {what} must be arrays or tensors, got {type(v).__name__}") from None
    if arr.dtype == object:
        raise TypeError(f"{who}: {what} holds objects of mixed shapes or types; pass NumPy arrays or tensors")
    return arr


def _as_batch_tensor(v):
    """A batch leaf as a Tessera tensor: float64 data is cast to the default float dtype (Keras's floatx)."""
    if v is None:
        return None
    if isinstance(v, Tensor):
        if v.dtype == _dt.float64 and _dt.get_default_dtype() != _dt.float64:
            return v.to(_dt.get_default_dtype())
        return v
    arr = np.asarray(v)
    if arr.dtype == np.float64 and _dt.get_default_dtype() != _dt.float64:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind in "US":
        return arr  # string features stay NumPy: the model's text preprocessing layers read them
    elif arr.dtype == object:
        raise TypeError(f"expected numeric data, got an array of dtype {arr.dtype}")
    return Tensor._wrap(np.ascontiguousarray(arr))


def _is_struct(s) -> bool:
    """A list/tuple of arrays (several inputs), as opposed to nested lists of numbers (one array)."""
    return isinstance(s, (list, tuple)) and any(
        _is_leaf_array(v) or isinstance(v, dict) or _is_struct(v) for v in s
    )


def _data_struct(s, who: str, what: str):
    """The user's x / y / sample_weight as a structure of arrays (lists of numbers become one array)."""
    if s is None:
        return None
    if isinstance(s, dict):
        return {k: _data_struct(v, who, what) for k, v in s.items()}
    if _is_struct(s):
        return [_data_struct(v, who, what) for v in s]
    return _to_numpy_leaf(s, who, what)


def _unpack_batch(batch):
    """Keras's unpacking of a batch from a dataset/generator: ``(x,)``, ``(x, y)`` or ``(x, y, sw)``."""
    if isinstance(batch, (list, tuple)):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
        raise ValueError(
            f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, found a "
            f"{type(batch).__name__} of length {len(batch)}"
        )
    return batch, None, None


def _is_pydataset(x) -> bool:
    """A Keras ``PyDataset``-like object: batches by index (``__getitem__``) and a length, not an array or
    a ``ts.data`` Dataset."""
    if isinstance(x, (list, tuple, dict, str, bytes, np.ndarray, Tensor, Dataset, DataLoader)):
        return False
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "__array__")


def _is_iterator(x) -> bool:
    return isinstance(x, (types.GeneratorType, Iterator)) and not _is_leaf_array(x)


# -- data handling ------------------------------------------------------------------------------------------
class _DataHandler:
    """Turns the user's data into batches ``(x, y, sample_weight)`` of tensors, epoch by epoch.

    Without ``steps`` an epoch is one pass over the data (a fresh shuffle each time). With ``steps`` the
    batches come from one continuing stream (restarted when a pass ends, for data that can be re-read).
    """

    def __init__(
        self,
        x,
        y=None,
        sample_weight=None,
        batch_size=None,
        steps=None,
        shuffle=False,
        class_weight=None,
        who="fit",
        need_y=False,
    ):
        self.who = who
        self.class_weight = class_weight
        if steps is not None and (not isinstance(steps, numbers.Integral) or steps <= 0):
            raise ValueError(f"{who}: steps must be a positive int or None, got {steps!r}")
        self.steps = None if steps is None else int(steps)
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0):
            raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
        self._stream = None
        self._exhausted = False
        if _is_pydataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"{who}: `y` and `sample_weight` arguments are not supported when using a PyDataset as "
                    "input; return (x, y[, sample_weight]) from its __getitem__ instead"
                )
            self.kind = "pydataset"
            self.source = x
            n = getattr(x, "num_batches", None)
            self.num_batches = int(n) if n is not None else len(x)
            return
        if isinstance(x, (DataLoader, Dataset)) or _is_iterator(x):
            if y is not None:
                raise ValueError(
                    f"{who}: `y` argument is not supported when using a dataset, data loader or generator as "
                    "input; yield (x, y) batches instead"
                )
            if sample_weight is not None:
                raise ValueError(f"{who}: `sample_weight` is not supported with a dataset or generator input")
            if isinstance(x, Dataset):
                if isinstance(x, IterableDataset):
                    x = DataLoader(x, batch_size=batch_size or 32)
                else:
                    x = DataLoader(x, batch_size=batch_size or 32, shuffle=bool(shuffle))
            self.kind = "loader" if isinstance(x, DataLoader) else "iterator"
            self.source = x
            self.num_batches = None
            if self.kind == "loader":
                try:
                    self.num_batches = len(x)
                except TypeError:
                    self.num_batches = None
            return
        if x is None:
            raise ValueError(f"{who}: no input data given (x is None)")
        self.kind = "arrays"
        self.x = _data_struct(x, who, "x")
        self.y = _data_struct(y, who, "y")
        self.sw = _data_struct(sample_weight, who, "sample_weight")
        sizes = {}
        for name, s in (("x", self.x), ("y", self.y), ("sample_weight", self.sw)):
            if s is None:
                continue
            for leaf in _leaves(s):
                if leaf.ndim == 0:
                    raise ValueError(f"{who}: {name} must have a batch dimension, got a scalar")
                sizes.setdefault(name, []).append(int(leaf.shape[0]))
        all_sizes = {n for v in sizes.values() for n in v}
        if len(all_sizes) > 1:
            detail = ", ".join(f"{k} sizes: {', '.join(map(str, v))}" for k, v in sizes.items())
            raise ValueError(
                f"{who}: data cardinality is ambiguous: {detail}. Make sure all arrays contain the same number "
                "of samples."
            )
        self.n = all_sizes.pop() if all_sizes else 0
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.num_batches = math.ceil(self.n / self.batch_size) if self.n else 0

    @property
    def steps_per_epoch(self) -> int | None:
        steps = self.steps if self.steps is not None else self.num_batches
        cap = _config.max_steps_per_epoch()
        if cap is not None:
            steps = cap if steps is None else min(steps, cap)
        return steps

    # -- producing batches --
    def _array_pass(self):
        n, bs = self.n, self.batch_size
        perm = randperm(n).numpy() if self.shuffle else None
        for start in range(0, n, bs):
            if perm is None:
                sl = slice(start, min(start + bs, n))

                def take(a, sl=sl):
                    return a[sl]

            else:
                idx = perm[start : start + bs]

                def take(a, idx=idx):
                    return a[idx]

            yield (
                _map(take, self.x),
                None if self.y is None else _map(take, self.y),
                None if self.sw is None else _map(take, self.sw),
            )

    def _one_pass(self):
        if self.kind == "arrays":
            return self._array_pass()
        if self.kind == "loader":
            return (_unpack_batch(b) for b in self.source)
        if self.kind == "pydataset":
            batches = getattr(self.source, "_keras_batches", None)
            if batches is not None:  # keras.utils.PyDataset: loads ahead with its workers
                return (_unpack_batch(b) for b in batches(self.num_batches))
            return (_unpack_batch(self.source[i]) for i in range(self.num_batches))
        if self._exhausted:
            return iter(())
        return (_unpack_batch(b) for b in self.source)

    def _forever(self):
        while True:
            produced = False
            for batch in self._one_pass():
                produced = True
                yield batch
            if self.kind == "iterator" or not produced:
                self._exhausted = True
                return

    def epoch(self):
        """The batches of one epoch, as tensors: ``(x, y, sample_weight)`` (at most
        ``keras.config.max_steps_per_epoch()`` of them when that is set)."""
        cap = _config.max_steps_per_epoch()
        for i, batch in enumerate(self._epoch()):
            if cap is not None and i >= cap:
                return
            yield batch

    def _epoch(self):
        if self.steps is None:
            it = self._one_pass()
            for batch in it:
                yield self._finish(batch)
            if self.kind == "iterator":
                self._exhausted = True
            return
        if self._stream is None:
            self._stream = self._forever()
        for _ in range(self.steps):
            try:
                batch = next(self._stream)
            except StopIteration:
                self._stream = None
                self.ran_out = True
                return
            yield self._finish(batch)

    def end_epoch(self) -> None:
        """Tell a PyDataset that an epoch ended (Keras calls its ``on_epoch_end``)."""
        if self.kind == "pydataset":
            hook = getattr(self.source, "on_epoch_end", None)
            if callable(hook):
                hook()

    def _finish(self, batch):
        x, y, sw = batch
        x = _map(_as_batch_tensor, x)
        y = None if y is None else _map(_as_batch_tensor, y)
        sw = None if sw is None else _map(_as_batch_tensor, sw)
        if self.class_weight is not None and y is not None:
            sw = _apply_class_weight(self.class_weight, y, sw, self.who)
        return x, y, sw

    ran_out = False


def _apply_class_weight(class_weight: dict, y, sw, who: str):
    if not isinstance(class_weight, dict):
        raise TypeError(f"{who}: class_weight must be a dict mapping class indices to weights")
    if not isinstance(y, Tensor):
        raise ValueError(f"{who}: class_weight is only supported for models with a single output")
    labels = y
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(dim=1)
    labels = labels.reshape(labels.shape[0], -1)[:, 0] if labels.ndim > 1 else labels
    labels = labels.to(_dt.int64)
    # host reads to size and check the table (decisions); the weights themselves are a gather op
    top = max(int(max(class_weight)), int(labels.max()) if labels.numel() else 0)
    if labels.numel() and int(labels.min()) < 0:
        raise ValueError(f"{who}: class_weight needs non-negative integer class labels")
    table = np.ones(top + 1, dtype=np.float32)
    for k, v in class_weight.items():
        table[int(k)] = float(v)
    w = Tensor._wrap(table).index_select(0, labels)
    if sw is not None:
        w = w * sw.to(_dt.float32).reshape(w.shape[0])
    return w


# -- compile state ------------------------------------------------------------------------------------------
class _ModuleLoss:
    """A PyTorch-style loss module (``loss(input, target)``) called with Keras's ``(y_true, y_pred)``."""

    def __init__(self, module):
        self.module = module
        self.name = type(module).__name__
        self.__name__ = self.name

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(f"compile: sample weights are not supported with the loss module {self.name}")
        return self.module(y_pred, y_true)


def _loss_object(identifier, who="compile"):
    """A callable ``(y_true, y_pred, sample_weight=None) -> scalar`` and its name, from a compile ``loss``."""
    if identifier is None:
        return None
    if isinstance(identifier, Module):
        return _ModuleLoss(identifier)
    obj = losses_module.get(identifier)
    if isinstance(obj, losses_module.Loss):
        if isinstance(identifier, str):
            obj.name = identifier
        return obj
    if callable(obj):
        name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "loss")
        return losses_module.LossFunctionWrapper(obj, name=name)
    raise ValueError(f"{who}: could not interpret loss {identifier!r}")


_ACC_NAMES = ("accuracy", "acc")
_CE_NAMES = ("crossentropy", "ce")


def _resolve_metric(identifier, y_true: Tensor, y_pred: Tensor):
    """A metric object for a compile ``metrics`` entry, resolving ``"accuracy"``/``"crossentropy"`` from the
    shapes of the labels and predictions as Keras does."""
    if isinstance(identifier, str) and identifier.lower() in _ACC_NAMES + _CE_NAMES:
        p_shape = tuple(y_pred.shape)
        t_shape = tuple(y_true.shape) if y_true is not None else p_shape
        is_binary = len(p_shape) <= 1 or p_shape[-1] == 1
        is_sparse = len(t_shape) == len(p_shape) - 1 or (len(t_shape) == len(p_shape) and t_shape[-1] == 1)
        if identifier.lower() in _ACC_NAMES:
            cls = (
                metrics_module.BinaryAccuracy
                if is_binary
                else metrics_module.SparseCategoricalAccuracy
                if is_sparse
                else metrics_module.CategoricalAccuracy
            )
        else:
            cls = (
                metrics_module.BinaryCrossentropy
                if is_binary
                else metrics_module.SparseCategoricalCrossentropy
                if is_sparse
                else metrics_module.CategoricalCrossentropy
            )
        return cls(name=identifier)
    if isinstance(identifier, metrics_module.Metric):
        return identifier
    obj = metrics_module.get(identifier)
    if isinstance(obj, metrics_module.Metric):
        return obj
    if callable(obj):
        return metrics_module.MeanMetricWrapper(obj, name=getattr(obj, "__name__", "metric"))
    raise ValueError(f"compile: could not interpret metric {identifier!r}")


def _serialize_metric(m):
    if isinstance(m, str) or m is None:
        return m
    if isinstance(m, metrics_module.Metric) or callable(m):
        return metrics_module.serialize(m)
    raise TypeError(f"compile: cannot serialize metric {m!r}")


def _serialize_loss(loss):
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Module):
        return type(loss).__name__
    return losses_module.serialize(loss)


def _map_config(fn, value):
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _map_config(fn, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_config(fn, v) for v in value]
    return fn(value)


class _CompileState:
    """What ``compile`` resolved: the per-output losses/metrics are finished on the first batch."""

    def __init__(self, loss, metrics, weighted_metrics, loss_weights):
        self.loss_spec = loss
        self.metrics_spec = metrics
        self.weighted_metrics_spec = weighted_metrics
        self.loss_weights = loss_weights
        self.built = False
        self.output_names: list[str] = []
        self.losses: list = []  # per output: loss object or None
        self.weights: list[float] = []
        self.metrics: list[list] = []  # per output: [(metric, weighted)]
        self.loss_tracker = metrics_module.Mean(name="loss")
        self.output_loss_trackers: list = []
        self.compile_metrics = None


def _per_output(spec, names: list[str], what: str):
    """Spread a compile argument over the outputs: one value for all, a list (by position) or a dict (by
    output name)."""
    n = len(names)
    if isinstance(spec, dict) and not (what == "loss" and "class_name" in spec):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(
                f"compile: {what} has keys {sorted(unknown)} that are not output names; the outputs are {names}"
            )
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)) and what == "loss":
        if len(spec) != n:
            raise ValueError(f"compile: got {len(spec)} losses for a model with {n} outputs")
        return list(spec)
    return [spec] * n


class _CompileMetrics(metrics_module.Metric):
    """The metrics given to ``compile`` as one metric named ``compile_metrics`` (as in Keras 3): its
    ``update_state(y, y_pred, sample_weight)`` updates them all and ``result()`` is a dict of their
    results. The per-output metric objects are made on the first update (they depend on the outputs)."""

    def __init__(self, model, state) -> None:
        super().__init__(name="compile_metrics")
        self._model = model
        self._state = state

    @property
    def metrics(self) -> list:
        return [m for objs in self._state.metrics for m, _ in objs]

    @property
    def built(self) -> bool:
        return self._state.built

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        state, model = self._state, self._model
        outputs, dict_names = model._output_list(y_pred)
        names = state.output_names if state.built else model._output_names(outputs, dict_names)
        ys = model._target_list(y_true, names, "compile_metrics")
        if not state.built:
            model._build_compile_state(state, outputs, dict_names, ys)
        for i, objs in enumerate(state.metrics):
            if not objs or ys[i] is None:
                continue
            pred = outputs[i]
            detached = None
            w = sample_weight
            if isinstance(sample_weight, (list, tuple)) and len(outputs) > 1:
                w = sample_weight[i]
            elif isinstance(sample_weight, dict):
                w = sample_weight.get(names[i])
            for m, weighted in objs:
                if type(m).update_state in metrics_module._NO_GRAD_UPDATES:
                    p = pred
                else:  # a user's metric may read values: give it a tensor outside autograd
                    p = detached = pred.detach() if detached is None else detached
                if weighted and w is not None:
                    m.update_state(ys[i], p, sample_weight=w)
                else:
                    m.update_state(ys[i], p)

    def result(self) -> dict:
        return {m.name: m.result() for m in self.metrics}

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _unpack_x_y_sample_weight(data):
    """``keras.utils.unpack_x_y_sample_weight``: ``(x, y, sample_weight)`` from ``x``, ``(x,)``,
    ``(x, y)`` or ``(x, y, sample_weight)`` (lists count as tuples), ``None`` for what is missing."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(
        "unpack_x_y_sample_weight: data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
        f"`(x, y, sample_weight)`, found a tuple of length {len(data)}"
    )


def _pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """What ``train_step`` receives for a batch: ``x`` alone (``(x,)`` when ``x`` is a list/tuple),
    ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _pythonify_logs(logs) -> dict:
    """Keras's log cleanup: nested dicts merged in, tensors turned into floats, keys sorted."""
    out = {}
    for k, v in sorted((logs or {}).items()):
        if isinstance(v, dict):
            out.update(_pythonify_logs(v))
            continue
        try:
            if isinstance(v, Tensor):
                v = v.numpy()
            v = float(v)
        except (TypeError, ValueError):
            pass
        out[k] = v
    return out


# -- the mixin ----------------------------------------------------------------------------------------------
class Trainer:
    """Keras's training API, mixed into ``keras.Model`` (or any ``ts.nn.Module``).

    Example:
        >>> class Net(Trainer, ts.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = ts.nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.fc(x)
        >>> net = Net(); net.compile(optimizer="sgd", loss="mse")
        >>> net.evaluate(np.zeros((4, 4)), np.zeros((4, 1)), verbose=0) >= 0
        True
    """

    optimizer = None
    stop_training = False
    history = None
    compiled = False
    _compile_config = None
    _compile_state = None

    # -- compile ------------------------------------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=None,
        steps_per_execution=1,
        jit_compile=None,
        auto_scale_loss=True,
        **kwargs,
    ) -> None:
        """Configure training: the optimizer (a name such as ``"adam"``, a config dict, a
        ``ts.keras.optimizers`` object or a ``ts.optim`` optimizer), the loss (a Keras name, a
        ``ts.keras.losses`` class or object, a function ``fn(y_true, y_pred)``, a ``ts.nn`` loss module, or
        a list/dict of them for several outputs), ``loss_weights``, and ``metrics`` (names such as
        ``"accuracy"``, ``"mae"``, metric objects, functions; a dict/list per output for several outputs).
        ``weighted_metrics`` are also given the sample weights.

        Example:
            >>> model.compile(  # doctest: +SKIP
            ...     optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
            ... )
        """
        kwargs.pop("sample_weight_mode", None)
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if (
            isinstance(steps_per_execution, bool)
            or not isinstance(steps_per_execution, numbers.Integral)
            or steps_per_execution < 1
        ):
            raise ValueError(
                f"compile: steps_per_execution must be a positive int, got {steps_per_execution!r}"
            )
        opt = optimizers_module.get(optimizer)
        # Validate the losses and metrics now so that errors show at compile time.
        _map_config(lambda v: _loss_object(v) if v is not None else None, loss) if not isinstance(
            loss, Module
        ) else None
        for spec in (metrics, weighted_metrics):
            if spec is not None and not isinstance(spec, (list, tuple, dict)):
                raise TypeError(
                    f"compile: metrics must be a list (or a dict per output), got {type(spec).__name__}; "
                    f"did you mean metrics=[{spec!r}]?"
                )
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, numbers.Real)):
            raise TypeError(
                f"compile: loss_weights must be a list or a dict, got {type(loss_weights).__name__}"
            )
        config = {
            "optimizer": optimizers_module.serialize(opt),
            "loss": _map_config(_serialize_loss, loss),
            "metrics": None if metrics is None else _map_config(_serialize_metric, metrics),
            "weighted_metrics": None
            if weighted_metrics is None
            else _map_config(_serialize_metric, weighted_metrics),
            "loss_weights": loss_weights if not isinstance(loss_weights, tuple) else list(loss_weights),
        }
        d = self.__dict__
        d["optimizer"] = opt
        d["loss"] = loss
        state = _CompileState(loss, metrics, weighted_metrics, loss_weights)
        if metrics is not None or weighted_metrics is not None:
            state.compile_metrics = _CompileMetrics(self, state)
        d["_compile_state"] = state
        d["_compile_config"] = config
        d["compiled"] = True
        d["stop_training"] = False
        d["steps_per_execution"] = int(steps_per_execution)

    def get_compile_config(self) -> dict[str, Any] | None:
        """The JSON-serialisable arguments of the last ``compile`` (optimizer, loss, metrics, loss_weights)."""
        return self._compile_config

    def compile_from_config(
        self, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> None:
        """``compile`` again from ``get_compile_config()``'s output (used when loading a saved model)."""
        if not isinstance(config, dict):
            raise TypeError(f"compile_from_config: expected a dict, got {type(config).__name__}")

        def loss_of(v):
            return None if v is None else losses_module.deserialize(v, custom_objects)

        def metric_of(v):
            if v is None:
                return None
            if isinstance(v, str):
                return v
            return metrics_module.deserialize(v, custom_objects)

        opt = config.get("optimizer")
        self.compile(
            optimizer=optimizers_module.deserialize(opt, custom_objects) if opt is not None else "rmsprop",
            loss=_map_config(loss_of, config.get("loss")),
            metrics=None if config.get("metrics") is None else _map_config(metric_of, config["metrics"]),
            weighted_metrics=None
            if config.get("weighted_metrics") is None
            else _map_config(metric_of, config["weighted_metrics"]),
            loss_weights=config.get("loss_weights"),
        )

    def _check_compiled(self, who: str) -> _CompileState:
        state = self._compile_state
        if state is None:
            raise RuntimeError(
                f"{who}: you must compile your model before training/testing. Use `model.compile(...)`"
            )
        return state

    # -- outputs, losses and metrics ----------------------------------------------------------------------
    def _output_list(self, y_pred) -> tuple[list, list[str] | None]:
        if isinstance(y_pred, Tensor):
            return [y_pred], None
        if isinstance(y_pred, dict):
            return list(y_pred.values()), list(y_pred.keys())
        if isinstance(y_pred, (list, tuple)):
            return list(y_pred), None
        raise TypeError(
            f"the model returned {type(y_pred).__name__}; expected a tensor or a list/dict of tensors"
        )

    def _target_list(self, y, names: list[str], who: str) -> list:
        n = len(names)
        if y is None:
            return [None] * n
        if isinstance(y, dict):
            unknown = set(y) - set(names)
            if unknown:
                raise ValueError(
                    f"{who}: the targets have keys {sorted(unknown)} that are not output names; the model's "
                    f"outputs are {names}"
                )
            return [y.get(k) for k in names]
        if isinstance(y, (list, tuple)):
            if n == 1 and len(y) == 1:
                return [y[0]]
            if len(y) != n:
                raise ValueError(f"{who}: got {len(y)} targets for a model with {n} outputs")
            return list(y)
        if n != 1:
            raise ValueError(
                f"{who}: got one target array for a model with {n} outputs; pass a list or a dict"
            )
        return [y]

    def _output_names(self, outputs: list, dict_names) -> list[str]:
        n = len(outputs)
        names = dict_names or list(getattr(self, "output_names", None) or [])
        if len(names) != n:
            names = ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]
        return names

    def _build_compile_state(self, state: _CompileState, outputs: list, dict_names, ys: list | None) -> None:
        n = len(outputs)
        names = self._output_names(outputs, dict_names)
        state.output_names = names
        state.losses = [_loss_object(s) for s in _per_output(state.loss_spec, names, "loss")]
        lw = state.loss_weights
        if lw is None:
            state.weights = [1.0] * n
        elif isinstance(lw, numbers.Real):
            state.weights = [float(lw)] * n
        elif isinstance(lw, dict):
            state.weights = [
                float(w) if w is not None else 1.0 for w in _per_output(lw, names, "loss_weights")
            ]
        else:
            if len(lw) != n:
                raise ValueError(f"compile: got {len(lw)} loss_weights for a model with {n} outputs")
            state.weights = [float(w) for w in lw]
        state.output_loss_trackers = (
            [metrics_module.Mean(name=f"{name}_loss") for name in names] if n > 1 else []
        )

        def spread(spec):
            if spec is None:
                return [[] for _ in range(n)]
            if isinstance(spec, dict):
                per = _per_output(spec, names, "metrics")
                return [[] if v is None else (list(v) if isinstance(v, (list, tuple)) else [v]) for v in per]
            spec = list(spec)
            if n > 1 and len(spec) == n and all(isinstance(v, (list, tuple)) or v is None for v in spec):
                return [[] if v is None else list(v) for v in spec]
            return [list(spec) for _ in range(n)]

        plain, weighted = spread(state.metrics_spec), spread(state.weighted_metrics_spec)
        state.metrics = []
        seen: dict[int, int] = {}
        for i in range(n):
            objs = []
            for spec, w in [(m, False) for m in plain[i]] + [(m, True) for m in weighted[i]]:
                y_true = ys[i] if ys is not None else None
                m = _resolve_metric(spec, y_true, outputs[i])
                if id(m) in seen and n > 1:  # the same object given for several outputs: one per output
                    m = _resolve_metric(metrics_module.serialize(m), y_true, outputs[i])
                seen[id(m)] = i
                if n > 1 and not m.name.startswith(f"{names[i]}_"):
                    m.name = f"{names[i]}_{m.name}"
                objs.append((m, w))
            state.metrics.append(objs)
        state.built = True

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training: bool = True) -> Tensor:
        """The total loss of a batch (Keras 3 signature): the weighted sum of the compiled per-output
        losses plus ``sum(self.losses)`` (regularization and ``add_loss``). Override it to change the
        loss while keeping the default ``train_step``; ``x`` and ``training`` are unused by default.

        Example:
            >>> model.compute_loss(y=y, y_pred=model(x))  # doctest: +SKIP
        """
        state = self._compile_state
        if state is None:
            reg = list(getattr(self, "losses", None) or [])
            if not reg:
                raise ValueError(
                    "compute_loss: no loss to compute. Provide a `loss` argument in `compile()`."
                )
            total = reg[0]
            for r in reg[1:]:
                total = total + r
            return total
        outputs, dict_names = self._output_list(y_pred)
        names = state.output_names if state.built else self._output_names(outputs, dict_names)
        ys = self._target_list(y, names, "compute_loss")
        if not state.built:
            self._build_compile_state(state, outputs, dict_names, ys)
        total, parts = self._loss_terms(state, outputs, ys, sample_weight)
        n = _batch_len(outputs)
        for tracker, part in zip(state.output_loss_trackers, parts):
            if part is not None:
                tracker.update_state(part, sample_weight=n)
        return total

    def _compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # Overrides written before Keras 3.3 have no `training` argument.
        fn = self.compute_loss
        if _accepts(fn, "training"):
            return fn(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        return fn(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with a batch and return ``get_metrics_result()`` (override to add
        custom metric logic; ``x`` is unused by default).

        Example:
            >>> logs = model.compute_metrics(x, y, model(x))  # doctest: +SKIP
        """
        state = self._compile_state
        if state is not None and state.compile_metrics is not None:
            state.compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """The current result of every metric in ``self.metrics`` (the compiled metrics' results merged in
        at the top level), as tensors.

        Example:
            >>> sorted(model.get_metrics_result())  # doctest: +SKIP
            ['accuracy', 'loss']
        """
        out = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return out

    @property
    def _loss_tracker(self):
        state = self._compile_state
        return None if state is None else state.loss_tracker

    @property
    def compiled_metrics(self):
        """The metrics given to ``compile``, as one metric (``None`` when compile got no metrics)."""
        state = self._compile_state
        return None if state is None else state.compile_metrics

    def _loss_terms(self, state: _CompileState, outputs: list, ys: list, sample_weight):
        total = None
        parts = []
        for i, (fn, w) in enumerate(zip(state.losses, state.weights)):
            if fn is None:
                parts.append(None)
                continue
            if ys[i] is None:
                raise ValueError(
                    f"no target (y) was given for the output '{state.output_names[i]}', which has a loss; pass y "
                    "to fit/evaluate (or yield (x, y) batches)"
                )
            sw = (
                sample_weight[i]
                if isinstance(sample_weight, (list, tuple)) and len(outputs) > 1
                else sample_weight
            )
            if isinstance(sample_weight, dict):
                sw = sample_weight.get(state.output_names[i])
            value = fn(ys[i], outputs[i], sample_weight=sw) if sw is not None else fn(ys[i], outputs[i])
            if not isinstance(value, Tensor):
                value = Tensor._wrap(np.asarray(value, dtype=np.float32))
            if value.ndim:
                value = value.mean()
            parts.append(value)
            term = value * w if w != 1.0 else value
            total = term if total is None else total + term
        reg = getattr(self, "losses", None)
        if reg:
            extra = None
            for r in reg:
                extra = r if extra is None else extra + r
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError(
                "compute_loss: no loss to compute. Provide a `loss` argument in `compile()` (or add losses "
                "with add_loss)."
            )
        return total, parts

    def _logs(self, state=None) -> dict[str, float]:
        return _pythonify_logs(self.get_metrics_result())

    @property
    def metrics(self) -> list:
        """The metrics to report: the loss tracker, the compiled metrics (one ``compile_metrics`` object),
        the per-output loss trackers, then the metrics assigned as attributes of the model (Keras's
        tracking). Override it (returning your trackers) so that ``fit`` resets them each epoch."""
        out = []
        state = self._compile_state
        if state is not None:
            out.append(state.loss_tracker)
            if state.compile_metrics is not None:
                out.append(state.compile_metrics)
            out.extend(state.output_loss_trackers)
        seen = {id(m) for m in out}
        for v in self.__dict__.values():
            if isinstance(v, metrics_module.Metric) and id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def metrics_names(self) -> list[str]:
        """The names of ``self.metrics``."""
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Reset the state of every metric in ``self.metrics``."""
        for m in self.metrics:
            m.reset_state()

    def _train_vars(self) -> list:
        tw = getattr(self, "trainable_weights", None)
        if tw is None:
            tw = [p for p in self.parameters() if p.requires_grad]
        return list(tw)

    def _build_optimizer(self) -> None:
        params = self._train_vars()
        if not params:
            raise ValueError(f"{type(self).__name__}: the model has no trainable weights to optimize")
        for p in params:
            p.grad = None
        self.optimizer.build(params)

    def _forward(self, x, training: bool):
        fn = getattr(self, "call", None) or self.forward
        if _accepts(fn, "training"):
            return self(x, training=training)
        return self(x)

    # -- steps --------------------------------------------------------------------------------------------
    def train_step(self, data) -> dict:
        """One training step on a batch ``data`` (``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``):
        forward pass with ``training=True``, ``compute_loss``, gradients, ``optimizer.apply``, then
        ``compute_metrics``. Returns the metric results; override it to customize ``fit``.

        Example:
            >>> class Custom(ts.keras.Model):  # doctest: +SKIP
            ...     def train_step(self, data):
            ...         x, y = data
            ...         self.zero_grad()
            ...         y_pred = self(x, training=True)
            ...         loss = self.compute_loss(y=y, y_pred=y_pred)
            ...         loss.backward()
            ...         with ts.no_grad():
            ...             self.optimizer.apply([v.value.grad for v in self.trainable_weights],
            ...                                  self.trainable_weights)
            ...         return self.compute_metrics(None, y, y_pred)
        """
        x, y, sw = _unpack_x_y_sample_weight(data)
        _, y_pred = self._optimization_step(x, y, sw)
        return self.compute_metrics(x, y, y_pred, sample_weight=sw)

    def _optimization_step(self, x, y=None, sample_weight=None):
        """The default step's ops: forward, loss (tracked), backward and the optimizer update. Returns
        (loss, y_pred)."""
        y_pred = self._forward(x, training=True)
        opt = self.optimizer
        if opt is not None and not opt.built:
            self._build_optimizer()
        self.zero_grad()
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._loss_tracker.update_state(loss, sample_weight=_batch_len(x))
        weights = self._train_vars()
        if opt is not None:
            loss = opt.scale_loss(loss)
        if weights:
            loss.backward()
            grads = [v.grad for v in weights]
            with no_grad():
                opt.apply(grads, weights)
        else:
            warnings.warn("The model does not have any trainable weights.", UserWarning, stacklevel=3)
        return loss, y_pred

    def test_step(self, data) -> dict:
        """Evaluate one batch: forward pass with ``training=False``, ``compute_loss`` (tracked) and
        ``compute_metrics``; ``evaluate`` runs it under ``no_grad``. Override to customize ``evaluate``.

        Example:
            >>> logs = model.test_step((x, y))  # doctest: +SKIP
        """
        x, y, sw = _unpack_x_y_sample_weight(data)
        y_pred = self._forward(x, training=False)
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_len(x))
        return self.compute_metrics(x, y, y_pred, sample_weight=sw)

    def predict_step(self, data):
        """The model's outputs for one batch (``x`` or ``(x, ...)``), with ``training=False``.

        Example:
            >>> model.predict_step(x)  # doctest: +SKIP
        """
        x, _, _ = _unpack_x_y_sample_weight(data)
        return self._forward(x, training=False)

    # -- fit ----------------------------------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose="auto",
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
        class_weight: dict | None = None,
        sample_weight=None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> callbacks_module.History:
        """Train for ``epochs`` epochs and return the ``History`` (``history.history`` maps each logged
        value, ``val_*`` included, to its per-epoch list).

        ``validation_split`` holds out the *last* fraction of array inputs (before shuffling) for
        validation, as Keras; ``validation_data`` is ``(x_val, y_val[, sample_weight])`` or a dataset /
        loader / generator (``validation_steps`` batches). ``verbose``: 0 silent, 1 progress bar ("auto"),
        2 one line per epoch. ``shuffle`` reshuffles array inputs (and ``ts.data`` Datasets) every epoch.

        Example:
            >>> history = model.fit(x_train, y_train, epochs=10, validation_split=0.2)  # doctest: +SKIP
        """
        self._check_compiled("fit")
        verbose = _check_verbose(verbose, "fit")
        if not isinstance(epochs, numbers.Integral) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        if _config.max_epochs() is not None:
            epochs = min(epochs, _config.max_epochs())
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if not isinstance(initial_epoch, numbers.Integral) or initial_epoch < 0:
            raise ValueError(f"fit: initial_epoch must be a non-negative int, got {initial_epoch!r}")
        if validation_split and validation_data is None:
            if isinstance(x, (DataLoader, Dataset)) or _is_iterator(x):
                raise ValueError(
                    "fit: validation_split is only supported for tensors or NumPy arrays; pass validation_data "
                    "for a dataset, data loader or generator"
                )
            (x, y, sample_weight), validation_data = _split_last(x, y, sample_weight, validation_split)
        handler = _DataHandler(
            x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight, who="fit", need_y=True
        )
        val_handler = None
        if validation_data is not None:
            if isinstance(validation_data, (DataLoader, Dataset)) or _is_iterator(validation_data):
                val_handler = _DataHandler(
                    validation_data,
                    batch_size=validation_batch_size or batch_size,
                    steps=validation_steps,
                    who="fit (validation)",
                )
            else:
                if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                    raise ValueError(
                        "fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), "
                        "a dataset, data loader or generator"
                    )
                vx, vy, vsw = (tuple(validation_data) + (None,))[:3]
                val_handler = _DataHandler(
                    vx,
                    vy,
                    vsw,
                    validation_batch_size or batch_size,
                    validation_steps,
                    False,
                    who="fit (validation)",
                )
        cbs = callbacks
        if not isinstance(cbs, callbacks_module.CallbackList):
            cbs = callbacks_module.CallbackList(
                callbacks,
                add_history=True,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose,
                epochs=epochs,
                steps=handler.steps_per_epoch,
            )
        history = cbs._history or next(
            (c for c in cbs.callbacks if isinstance(c, callbacks_module.History)), None
        )
        self.__dict__["stop_training"] = False
        self.train()
        cbs.on_train_begin()
        # BackupAndRestore sets the epoch to resume from in on_train_begin.
        initial_epoch = self.__dict__.pop("_initial_epoch", None) or initial_epoch
        epoch_logs: dict[str, Any] = {}
        first = True
        spe = self._steps_per_execution()
        try:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                self.train()
                logs = None
                step = -1
                for begin, end, chunk in _chunks(handler.epoch(), spe):
                    if first:
                        self.__dict__["_train_example_input"] = chunk[0][0]
                        first = False
                    cbs.on_train_batch_begin(begin)
                    for bx, by, bsw in chunk:
                        logs = self.train_step(_pack_x_y_sample_weight(bx, by, bsw))
                    logs = _pythonify_logs(logs)
                    step = end
                    cbs.on_train_batch_end(end, logs)
                    if self.stop_training:
                        break
                handler.end_epoch()
                if step < 0 or handler.ran_out:
                    handler.ran_out = False
                    warnings.warn(
                        "fit: your input ran out of data; interrupting training. Make sure that your dataset "
                        "or generator can generate at least `steps_per_epoch * epochs` batches.",
                        UserWarning,
                        stacklevel=2,
                    )
                    self.__dict__["stop_training"] = True
                    if step < 0:
                        break
                epoch_logs = self._metrics_result_or_logs(logs)
                if val_handler is not None and _should_eval(epoch, validation_freq):
                    val_logs = self._evaluate_loop(val_handler, cbs)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    self.train()
                cbs.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            self.__dict__.pop("_train_example_input", None)
        opt = self.optimizer
        if isinstance(opt, optimizers_module.Optimizer) and epochs > 0 and opt.built:
            opt.finalize_variable_values(self._train_vars())
        cbs.on_train_end(epoch_logs)
        if history is not None:
            self.__dict__["history"] = history
        return history

    def _steps_per_execution(self) -> int:
        return int(self.__dict__.get("steps_per_execution", 1) or 1)

    def _metrics_result_or_logs(self, logs) -> dict:
        """Keras's end-of-epoch logs: the metrics' results when the last step returned the same keys
        (the default steps), else that step's logs (a custom step)."""
        result = _pythonify_logs(self.get_metrics_result())
        logs = logs or {}
        if set(result) == set(logs):
            return result
        return dict(logs)

    def _evaluate_loop(self, handler: _DataHandler, cbs) -> dict[str, float]:
        was_training = self.training
        self.eval()
        self.reset_metrics()
        self.__dict__["stop_evaluating"] = False
        cbs.on_test_begin()
        logs = None
        spe = self._steps_per_execution()
        try:
            for begin, end, chunk in _chunks(handler.epoch(), spe):
                cbs.on_test_batch_begin(begin)
                with no_grad():
                    for bx, by, bsw in chunk:
                        logs = self.test_step(_pack_x_y_sample_weight(bx, by, bsw))
                logs = _pythonify_logs(logs)
                cbs.on_test_batch_end(end, logs)
                if self.__dict__.get("stop_evaluating"):
                    break
        finally:
            self.train(was_training)
        handler.end_epoch()
        handler.ran_out = False
        if logs is None:
            state = self._compile_state
            if state is None or not state.built:
                raise ValueError("evaluate: no batches: the validation/evaluation data is empty")
        logs = self._metrics_result_or_logs(logs)
        cbs.on_test_end(logs)
        return logs

    # -- evaluate / predict -------------------------------------------------------------------------------
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size: int | None = None,
        verbose="auto",
        sample_weight=None,
        steps: int | None = None,
        callbacks=None,
        return_dict: bool = False,
        **kwargs,
    ):
        """The loss and metrics on the given data, batched (no gradients, eval mode): a float for the loss
        alone, else ``[loss, metric, ...]`` in ``metrics_names`` order, or a dict with ``return_dict``.

        Example:
            >>> loss, acc = model.evaluate(x_test, y_test, verbose=0)  # doctest: +SKIP
        """
        self._check_compiled("evaluate")
        verbose = _check_verbose(verbose, "evaluate")
        handler = _DataHandler(x, y, sample_weight, batch_size, steps, False, who="evaluate")
        cbs = callbacks
        if not isinstance(cbs, callbacks_module.CallbackList):
            cbs = callbacks_module.CallbackList(
                callbacks,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose,
                epochs=1,
                steps=handler.steps_per_epoch,
            )
        logs = self._evaluate_loop(handler, cbs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _flatten_metrics_in_order(self, logs: dict):
        names = []
        for m in self.metrics:
            if isinstance(m, _CompileMetrics):
                names.extend(sub.name for sub in m.metrics)
            else:
                names.append(m.name)
        values = [logs[n] for n in names if n in logs]
        values += [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    def predict(
        self, x, batch_size: int | None = None, verbose="auto", steps: int | None = None, callbacks=None
    ):
        """The model's outputs for ``x``, computed in batches (no gradients, eval mode) and returned as NumPy
        arrays (a list/dict of arrays for several outputs). Datasets may yield ``x`` or ``(x, y)`` batches.

        Example:
            >>> probs = model.predict(x_test, batch_size=64, verbose=0)  # doctest: +SKIP
        """
        verbose = _check_verbose(verbose, "predict")
        handler = _DataHandler(x, None, None, batch_size, steps, False, who="predict")
        cbs = callbacks
        if not isinstance(cbs, callbacks_module.CallbackList):
            cbs = callbacks_module.CallbackList(
                callbacks,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose,
                epochs=1,
                steps=handler.steps_per_epoch,
            )
        was_training = self.training
        self.eval()
        outs = []
        cbs.on_predict_begin()
        try:
            for step, (bx, by, bsw) in enumerate(handler.epoch()):
                cbs.on_predict_batch_begin(step)
                with no_grad():
                    out = self.predict_step(_pack_x_y_sample_weight(bx, by, bsw))
                out = _map(lambda t: t.numpy() if isinstance(t, Tensor) else np.asarray(t), out)
                outs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
        finally:
            self.train(was_training)
        handler.end_epoch()
        cbs.on_predict_end()
        if not outs:
            raise ValueError("predict: the input data is empty (no batches)")
        return _concat(outs)

    # -- single batches ------------------------------------------------------------------------------------
    def train_on_batch(
        self,
        x,
        y=None,
        sample_weight=None,
        class_weight=None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ):
        """One optimization step on one batch; returns the loss (and metrics) for that batch, like
        ``evaluate``'s result (``reset_metrics=False`` accumulates metrics over calls).

        Example:
            >>> loss = model.train_on_batch(x_batch, y_batch)  # doctest: +SKIP
        """
        self._check_compiled("train_on_batch")
        if reset_metrics:
            self.reset_metrics()
        (bx, by, bsw) = _single_batch(x, y, sample_weight, class_weight, "train_on_batch")
        self.train()
        logs = _pythonify_logs(self.train_step(_pack_x_y_sample_weight(bx, by, bsw)))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(
        self, x, y=None, sample_weight=None, reset_metrics: bool = True, return_dict: bool = False
    ):
        """Loss and metrics of one batch (no update)."""
        self._check_compiled("test_on_batch")
        if reset_metrics:
            self.reset_metrics()
        (bx, by, bsw) = _single_batch(x, y, sample_weight, None, "test_on_batch")
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logs = _pythonify_logs(self.test_step(_pack_x_y_sample_weight(bx, by, bsw)))
        finally:
            self.train(was_training)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, as NumPy arrays."""
        bx = _map(_as_batch_tensor, _data_struct(x, "predict_on_batch", "x"))
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                out = self.predict_step(_pack_x_y_sample_weight(bx))
        finally:
            self.train(was_training)
        return _map(lambda t: t.numpy() if isinstance(t, Tensor) else np.asarray(t), out)


# -- helpers ------------------------------------------------------------------------------------------------
def _check_verbose(verbose, who: str) -> int:
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"{who}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _batch_len(x) -> int:
    for leaf in _leaves(x):
        if isinstance(leaf, Tensor) and leaf.ndim:
            return int(leaf.shape[0])
    return 1


def _chunks(batches, n: int):
    """``(first step, last step, [batch, ...])`` groups of ``n`` batches (``steps_per_execution``)."""
    group, begin = [], 0
    for i, batch in enumerate(batches):
        if not group:
            begin = i
        group.append(batch)
        if len(group) == n:
            yield begin, i, group
            group = []
    if group:
        yield begin, begin + len(group) - 1, group


def _should_eval(epoch: int, freq) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


def _split_last(x, y, sw, fraction: float):
    """Keras's ``validation_split``: the last ``fraction`` of the samples (before any shuffling)."""
    xs = _data_struct(x, "fit", "x")
    leaves = _leaves(xs)
    if not leaves or leaves[0] is None:
        raise ValueError("fit: validation_split needs array inputs")
    n = int(leaves[0].shape[0])
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"fit: validation_split={fraction} leaves {'no training' if split_at == 0 else 'no validation'} samples "
            f"out of {n}; use a different fraction"
        )

    def first(a):
        return a[:split_at]

    def last(a):
        return a[split_at:]

    ys = _data_struct(y, "fit", "y")
    sws = _data_struct(sw, "fit", "sample_weight")
    train = (
        _map(first, xs),
        None if ys is None else _map(first, ys),
        None if sws is None else _map(first, sws),
    )
    val = (_map(last, xs), None if ys is None else _map(last, ys), None if sws is None else _map(last, sws))
    return train, val


def _single_batch(x, y, sw, class_weight, who):
    bx = _map(_as_batch_tensor, _data_struct(x, who, "x"))
    by = None if y is None else _map(_as_batch_tensor, _data_struct(y, who, "y"))
    bsw = None if sw is None else _map(_as_batch_tensor, _data_struct(sw, who, "sample_weight"))
    if class_weight is not None and by is not None:
        bsw = _apply_class_weight(class_weight, by, bsw, who)
    return bx, by, bsw


def _concat(outs: list):
    first = outs[0]
    if isinstance(first, dict):
        return {k: _concat([o[k] for o in outs]) for k in first}
    if isinstance(first, (list, tuple)):
        return [_concat([o[i] for o in outs]) for i in range(len(first))]
    if first.ndim == 0:
        return np.stack(outs)
    return np.concatenate(outs, axis=0)
