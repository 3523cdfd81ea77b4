"""Keras callbacks (``ts.keras.callbacks``): hooks into ``fit``/``evaluate``/``predict`` with Keras's names
(``on_train_begin``, ``on_epoch_end(epoch, logs)``, ``on_train_batch_end(batch, logs)``, ``on_test_*``,
``on_predict_*``...), and the standard callbacks: ``History``, ``EarlyStopping``, ``ModelCheckpoint``,
``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger``, ``TensorBoard``, ``LambdaCallback``,
``TerminateOnNaN``, ``ProgbarLogger``.

Example:
    >>> class Printer(ts.keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, sorted(logs))
"""

from __future__ import annotations

import collections
import csv
import math
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .progbar import Progbar

__all__ = [
    "BackupAndRestore",
    "SwapEMAWeights",
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "EarlyStopping",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "CSVLogger",
    "TensorBoard",
    "LambdaCallback",
    "TerminateOnNaN",
    "RemoteMonitor",
]

_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class of callbacks. ``self.model`` is the model being trained (``set_model``) and
    ``self.params`` the run's parameters (``verbose``, ``epochs``, ``steps``); override any hook.

    ``on_batch_begin``/``on_batch_end`` are the older names of ``on_train_batch_begin``/``_end`` and are
    called by them by default.
    """

    def __init__(self) -> None:
        self.validation_data = None
        self.model = None
        self.params: dict[str, Any] = {}

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model) -> None:
        self.model = model

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Older name of ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Older name of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """At the start of an epoch of ``fit``."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """At the end of an epoch: ``logs`` holds the epoch's metrics and, after validation, ``val_*``."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a batch of ``evaluate`` (and of the validation in ``fit``)."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a batch of ``evaluate``: ``logs`` holds the running metrics."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a batch of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a batch of ``predict``: ``logs["outputs"]`` holds its outputs."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """At the start of ``fit``."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """At the end of ``fit``."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """At the start of ``evaluate`` (and of the validation in ``fit``)."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """At the end of ``evaluate``."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """At the end of ``predict``."""


class CallbackList(Callback):
    """A list of callbacks called together; optionally adds a ``ProgbarLogger`` (first) and a ``History``
    (last), as Keras does.

    Example:
        >>> cbs = ts.keras.callbacks.CallbackList([ts.keras.callbacks.TerminateOnNaN()], add_history=True)
        >>> [type(c).__name__ for c in cbs.callbacks]
        ['TerminateOnNaN', 'History']
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model=None,
        **params,
    ) -> None:
        super().__init__()
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks: list[Callback] = list(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected Callback objects, got {type(cb).__name__}")
        self._history = None
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history:
            existing = [cb for cb in self.callbacks if isinstance(cb, History)]
            if existing:
                self._history = existing[0]
            else:
                self._history = History()
                self.callbacks.append(self._history)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)


def _make_dispatch(hook: str):
    if hook.endswith(("batch_begin", "batch_end")):

        def dispatch(self, batch, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(batch, logs)

    elif hook.startswith("on_epoch"):

        def dispatch(self, epoch, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(epoch, logs)

    else:

        def dispatch(self, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(logs)

    dispatch.__name__ = hook
    return dispatch


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _make_dispatch(_hook))
CallbackList.on_batch_begin = CallbackList.on_train_batch_begin
CallbackList.on_batch_end = CallbackList.on_train_batch_end


class History(Callback):
    """Records the logs of every epoch: ``history`` (metric name -> list of values) and ``epoch``;
    ``fit`` returns it and sets ``model.history``.

    Example:
        >>> h = ts.keras.callbacks.History(); h.on_train_begin()
        >>> h.on_epoch_end(0, {"loss": 0.5}); h.history
        {'loss': [0.5]}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            try:
                self.model.history = self
            except (AttributeError, TypeError):  # pragma: no cover - models refusing attributes
                pass


class ProgbarLogger(Callback):
    """Prints the progress bar of ``fit`` (``Epoch i/N`` and a bar per epoch), ``evaluate`` and ``predict``;
    added automatically when ``verbose != 0``. See ``ts.keras.progbar`` for the output format.

    Args:
        stream: where to write (default: ``sys.stdout`` at the start of each run).
    """

    def __init__(self, count_mode: str = "steps", stateful_metrics=None, stream=None) -> None:
        super().__init__()
        self.stream = stream
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.progbar = None
        self._called_in_fit = False
        self.seen = 0

    def set_params(self, params) -> None:
        self.params = params
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self, header=None, target=None) -> None:
        self.seen = 0
        self.progbar = Progbar(
            target=target,
            verbose=self.verbose,
            header=header,
            stream=self.stream if self.stream is not None else sys.stdout,
        )

    def _update(self, batch, logs=None) -> None:
        if self.progbar is None:
            self._new_bar(target=self.target)
        logs = dict(logs or {})
        logs.pop("outputs", None)
        self.seen = batch + 1
        self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize(self, logs) -> None:
        if self.progbar is None:
            self._new_bar(target=self.target)
        logs = dict(logs or {})
        logs.pop("outputs", None)
        if self.progbar.target is None:
            self.progbar.target = self.seen
        self.progbar.update(self.progbar.target or self.seen, list(logs.items()), finalize=True)
        self.progbar = None

    def on_train_begin(self, logs=None) -> None:
        self._called_in_fit = True

    def on_train_end(self, logs=None) -> None:
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None) -> None:
        header = f"Epoch {epoch + 1}/{self.epochs}" if self.epochs > 1 else None
        self._new_bar(header=header, target=self.target)

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._finalize(logs)

    def on_test_begin(self, logs=None) -> None:
        if not self._called_in_fit:
            self._new_bar(target=self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None) -> None:
        self._new_bar(target=self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None) -> None:
        self._update(batch, None)

    def on_predict_end(self, logs=None) -> None:
        self._finalize(None)


# -- monitoring helpers -------------------------------------------------------------------------------------
def _monitor_mode(who: str, mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        warnings.warn(
            f"{who}: mode {mode!r} is unknown, falling back to 'auto'", RuntimeWarning, stacklevel=3
        )
        mode = "auto"
    if mode == "auto":
        name = monitor.lower()
        if name.endswith("loss") or name.endswith("error"):
            return "min"
        if any(s in name for s in ("acc", "auc", "precision", "recall", "fmeasure", "f1")):
            return "max"
        return "min"
    return mode


def _scalar(value) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _model_weights(model) -> dict[str, np.ndarray]:
    """A copy of every weight and buffer of ``model`` (its ``state_dict``)."""
    return {k: np.array(v.numpy(), copy=True) for k, v in model.state_dict().items()}


def _set_model_weights(model, weights: dict[str, np.ndarray]) -> None:
    model.load_state_dict(weights)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` stops improving.

    Args:
        monitor: the logged quantity (default ``"val_loss"``).
        min_delta: a change smaller than this is no improvement.
        patience: epochs without improvement before stopping.
        verbose: print a message when stopping / restoring.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name: losses and errors decrease, accuracies increase).
        baseline: the value to beat; training stops after ``patience`` epochs without beating it.
        restore_best_weights: at the end, restore the weights of the best epoch.
        start_from_epoch: epochs to wait before monitoring.

    Example:
        >>> es = ts.keras.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode = _monitor_mode("EarlyStopping", mode, monitor)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value: float, reference: float) -> bool:
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def get_monitor_value(self, logs) -> float | None:
        value = _scalar((logs or {}).get(self.monitor))
        if value is None:
            warnings.warn(
                f"EarlyStopping: monitor {self.monitor!r} is not available in the logs (available: "
                f"{', '.join(sorted(logs or {})) or 'none'}); it is ignored",
                RuntimeWarning,
                stacklevel=2,
            )
        return value

    def on_epoch_end(self, epoch, logs=None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _model_weights(self.model)
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _model_weights(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            _set_model_weights(self.model, self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) every epoch (or every
    ``save_freq`` batches), optionally only when ``monitor`` improves.

    ``filepath`` may contain ``{epoch}`` (1-based) and any logged value: ``"ckpt-{epoch:02d}-{val_loss:.2f}"``.

    Example:
        >>> cb = ts.keras.callbacks.ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True)
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}"
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.mode = _monitor_mode("ModelCheckpoint", mode, monitor)
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold
        if self.best is None:
            self.best = math.inf if self.mode == "min" else -math.inf
        self._batches_seen = 0
        self._current_epoch = 0

    def _is_improvement(self, value, reference) -> bool:
        return value < reference if self.mode == "min" else value > reference

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _get_file_path(self, epoch, batch, logs) -> str:
        try:
            if batch is None or "batch" in (logs or {}):
                return self.filepath.format(epoch=epoch + 1, **(logs or {}))
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **(logs or {}))
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: failed to format the filepath {self.filepath!r}: {e} is not among the logged "
                f"values ({', '.join(sorted(logs or {}))})"
            ) from None

    def _write(self, filepath: str) -> None:
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)

    def _save(self, epoch, batch, logs) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            self._write(filepath)
            return
        current = _scalar(logs.get(self.monitor))
        if current is None:
            warnings.warn(
                f"ModelCheckpoint: can save best model only with {self.monitor!r} available in the logs "
                f"(available: {', '.join(sorted(logs)) or 'none'}); skipping",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                    f"saving model to {filepath}"
                )
            self.best = current
            self._write(filepath)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")


def _get_lr(model) -> float:
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise RuntimeError("the model has no optimizer; compile it first")
    return float(opt.learning_rate)


def _set_lr(model, lr: float) -> None:
    model.optimizer.learning_rate = float(lr)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more than
    ``min_delta``) for ``patience`` epochs; wait ``cooldown`` epochs after a reduction; never go below
    ``min_lr``. Adds ``learning_rate`` to the epoch logs.

    Example:
        >>> cb = ts.keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword argument(s) {', '.join(sorted(kwargs))}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, got {factor}")
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.mode = _monitor_mode("ReduceLROnPlateau", mode, monitor)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, current, best) -> bool:
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None) -> None:
        self._reset()

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_lr(self.model)
        current = _scalar(logs.get(self.monitor))
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: monitor {self.monitor!r} is not available in the logs (available: "
                f"{', '.join(sorted(logs))})",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(self.model)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(self.model, new_lr)
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), ``epoch`` counting from 0. Adds ``learning_rate`` to the epoch logs.

    Example:
        >>> cb = ts.keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.9 if epoch else lr)
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None) -> None:
        lr = _get_lr(self.model)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # a schedule taking only the epoch
            lr = self.schedule(epoch)
        lr = _scalar(lr)
        if lr is None or not math.isfinite(lr):
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite float, got {lr!r}")
        _set_lr(self.model, lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None) -> None:
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model)


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file: a header ``epoch,<sorted keys>`` then one row per epoch.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: append to an existing file (no second header) instead of overwriting it.

    Example:
        >>> cb = ts.keras.callbacks.CSVLogger("training.log")
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.writer = None
        self.keys = None
        self.csv_file = open(self.filename, mode, newline="")

    @staticmethod
    def _handle_value(k):
        is_zero_dim = isinstance(k, np.ndarray) and k.ndim == 0
        if isinstance(k, str):
            return k
        if isinstance(k, collections.abc.Iterable) and not is_zero_dim:
            return f'"[{", ".join(map(str, k))}]"'
        return k

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
        if self.model is not None and getattr(self.model, "stop_training", False):
            logs = {k: logs.get(k, "NA") for k in self.keys}
        if self.writer is None:

            class CustomDialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch"] + self.keys, dialect=CustomDialect
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, self._handle_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None) -> None:
        if self.csv_file is not None:
            self.csv_file.close()
            self.csv_file = None
        self.writer = None


class TensorBoard(Callback):
    """Log to TensorBoard with ``ts.tensorboard.SummaryWriter``, in ``log_dir/train`` and
    ``log_dir/validation`` as Keras: ``epoch_<metric>`` scalars per epoch (validation values without the
    ``val_`` prefix), ``epoch_learning_rate``, weight histograms every ``histogram_freq`` epochs, per-batch
    ``batch_<metric>`` scalars with ``update_freq="batch"`` or every N batches, and the model's graph.

    Example:
        >>> cb = ts.keras.callbacks.TensorBoard(log_dir="logs/run1", histogram_freq=1)
    """

    #: Writer class (``log_dir`` -> writer with PyTorch's ``SummaryWriter`` API); default
    #: ``ts.tensorboard.SummaryWriter``, imported when training starts.
    writer_class = None

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int = 0,
        embeddings_freq: int = 0,
        embeddings_metadata=None,
    ) -> None:
        super().__init__()
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(
                f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got {update_freq!r}"
            )
        if histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers: dict[str, Any] = {}
        self._train_step = 0
        self._graph_written = False
        self._epoch_start = None

    def _writer(self, name: str):
        if name not in self._writers:
            cls = self.writer_class
            if cls is None:
                from ..tensorboard import SummaryWriter as cls
            self._writers[name] = cls(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_train_begin(self, logs=None) -> None:
        self._graph_written = not self.write_graph
        self._writer("train")

    def on_epoch_begin(self, epoch, logs=None) -> None:
        import time

        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._train_step += 1
        if not self._graph_written:
            self._graph_written = True
            self._write_graph()
        if self.update_freq != "epoch" and self._train_step % self.update_freq == 0:
            w = self._writer("train")
            for k, v in (logs or {}).items():
                value = _scalar(v)
                if value is not None:
                    w.add_scalar(f"batch_{k}", value, self._train_step)

    def _write_graph(self) -> None:
        example = getattr(self.model, "_train_example_input", None)
        if example is None:
            return
        was_training = self.model.training
        self.model.eval()
        try:
            from ..core.grad_mode import no_grad

            with no_grad():
                self._writer("train").add_graph(self.model, example)
        except Exception as e:  # a graph is a nicety: never break training for it
            warnings.warn(f"TensorBoard: could not write the model graph: {e}", RuntimeWarning, stacklevel=2)
        finally:
            self.model.train(was_training)

    def on_epoch_end(self, epoch, logs=None) -> None:
        import time

        logs = logs or {}
        train = self._writer("train")
        val = None
        for k, v in logs.items():
            value = _scalar(v)
            if value is None:
                continue
            if k.startswith("val_"):
                val = val or self._writer("validation")
                val.add_scalar(f"epoch_{k[4:]}", value, epoch)
            else:
                train.add_scalar(f"epoch_{k}", value, epoch)
        if "learning_rate" not in logs and getattr(self.model, "optimizer", None) is not None:
            train.add_scalar("epoch_learning_rate", _get_lr(self.model), epoch)
        if self.write_steps_per_second and self._epoch_start is not None:
            steps = self.params.get("steps") or 0
            dt = time.perf_counter() - self._epoch_start
            if steps and dt > 0:
                train.add_scalar("epoch_steps_per_second", steps / dt, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, p in self.model.named_parameters():
                train.add_histogram(name.replace(".", "/"), p.detach().numpy(), epoch)
        for w in self._writers.values():
            w.flush()

    def on_test_end(self, logs=None) -> None:
        pass

    def on_train_end(self, logs=None) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)`` (also ``on_batch_*`` and any other hook name as a keyword).

    Example:
        >>> seen = []
        >>> cb = ts.keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ) -> None:
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for k, fn in kwargs.items():
            if k not in _HOOKS and k not in ("on_batch_begin", "on_batch_end"):
                raise TypeError(f"LambdaCallback: unknown hook {k!r}")
            hooks[k] = fn
        for k, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {k} must be callable, got {type(fn).__name__}")
            setattr(self, k, fn)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    Example:
        >>> cb = ts.keras.callbacks.TerminateOnNaN()
    """

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = _scalar((logs or {}).get("loss"))
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class RemoteMonitor(Callback):
    """POST each epoch's logs to a server: ``root + path`` receives ``{"epoch": ..., <metric>: ...}`` as JSON
    (``send_as_json``) or as the form field ``field`` holding that JSON. An unreachable server gives a warning,
    not an error (as Keras).

    Example:
        >>> cb = ts.keras.callbacks.RemoteMonitor(root="http://127.0.0.1:9000")
        >>> model.fit(x, y, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/", field: str = "data",
                 headers: dict | None = None, send_as_json: bool = False) -> None:  # fmt: skip
        super().__init__()
        if not isinstance(root, str) or not root.startswith(("http://", "https://")):
            raise ValueError(f"RemoteMonitor: root must be an http(s) URL, got {root!r}")
        self.root, self.path, self.field = root, path, field
        self.headers = dict(headers or {})
        self.send_as_json = bool(send_as_json)

    def on_epoch_end(self, epoch, logs=None) -> None:
        import json
        import urllib.error
        import urllib.parse
        import urllib.request

        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        headers = dict(self.headers)
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)


class BackupAndRestore(Callback):
    """Back up the model's weights, the optimizer state and the epoch to ``backup_dir`` at the end of each
    epoch (or every ``save_freq`` batches), so that a ``fit`` interrupted by a crash resumes from the last
    backup when run again; the backup is removed when training ends (``delete_checkpoint``).
    ``double_checkpoint`` keeps the previous backup as a fallback if the latest one is unreadable.

    Example:
        >>> cb = ts.keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True) -> None:  # fmt: skip
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed")
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"BackupAndRestore: invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                "Expected either 'epoch' or a positive integer."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint, self.delete_checkpoint = (
            save_freq,
            double_checkpoint,
            delete_checkpoint,
        )
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.safetensors")
        self._optimizer_path = os.path.join(self.backup_dir, "latest.optimizer.ts")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._batches_since_save = 0
        self._last_batch = 0
        self._current_epoch = 0

    def _files(self) -> tuple[str, ...]:
        return (self._weights_path, self._optimizer_path, self._metadata_path)

    def on_train_begin(self, logs=None) -> None:
        try:
            self._load()
        except Exception:  # noqa: BLE001 - a torn latest backup: fall back to the previous one
            previous = [f + ".bkp" for f in self._files()]
            if not all(os.path.exists(p) for p in previous[:1] + previous[2:]):
                raise
            for src, dst in zip(previous, self._files()):
                if os.path.exists(src):
                    shutil.copyfile(src, dst)
            self._load()

    def _load(self) -> None:
        import json

        from .. import load as ts_load

        if not os.path.exists(self._weights_path):
            return
        self.model.load_weights(self._weights_path)
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and os.path.exists(self._optimizer_path):
            if not opt.built:
                self.model._build_optimizer()
            opt.load_state_dict(ts_load(self._optimizer_path))
        if os.path.exists(self._metadata_path):
            with open(self._metadata_path) as f:
                epoch = int(json.load(f)["epoch"])
            self._current_epoch = epoch
            self.model.__dict__["_initial_epoch"] = epoch  # fit resumes from this epoch

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += batch + 1 if batch <= self._last_batch else batch - self._last_batch
        self._last_batch = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save()

    def _save(self) -> None:
        import json

        from .. import save as ts_save
        from .._atomic import atomic_write

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in self._files():
                if os.path.exists(path):
                    shutil.copyfile(path, path + ".bkp")
        self.model.save_weights(self._weights_path, overwrite=True)
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and getattr(opt, "built", False):
            ts_save(opt.state_dict(), self._optimizer_path)
        meta = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch}).encode()
        atomic_write(self._metadata_path, lambda f: f.write(meta))

    def on_train_end(self, logs=None) -> None:
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


class SwapEMAWeights(Callback):
    """Evaluate and predict with the optimizer's moving average of the weights (``use_ema=True``): the
    averages are swapped into the model for ``evaluate``/``predict`` (and, with ``swap_on_epoch``, at the end
    of every epoch, e.g. for checkpoints), then swapped back.

    Example:
        >>> model.compile(ts.keras.optimizers.Adam(use_ema=True), "mse")  # doctest: +SKIP
        >>> model.fit(x, y, callbacks=[ts.keras.callbacks.SwapEMAWeights()])  # doctest: +SKIP
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_in_model = False

    def _optimizer(self):
        opt = getattr(self.model, "optimizer", None)
        opt = getattr(opt, "inner_optimizer", opt)
        if opt is None or not getattr(opt, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. Received: "
                f"use_ema={getattr(opt, 'use_ema', None)}"
            )
        return opt

    def _swap(self) -> None:
        from ..core.grad_mode import no_grad

        opt = self._optimizer()
        with no_grad():
            for var, avg in zip(opt._params, opt._model_variables_moving_average):
                current = var.detach().clone()
                var.copy_(avg)
                avg.copy_(current)

    def _finalize(self) -> None:
        from ..core.grad_mode import no_grad

        opt = self._optimizer()
        with no_grad():
            for var, avg in zip(opt._params, opt._model_variables_moving_average):
                avg.copy_(var)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        if self.swap_on_epoch and self._ema_in_model:
            self._swap()
            self._ema_in_model = False

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.swap_on_epoch and not self._ema_in_model:
            self._swap()
            self._ema_in_model = True
            if epoch == self.params.get("epochs", 0) - 1:
                self._finalize()

    def on_test_begin(self, logs=None) -> None:
        if not self._ema_in_model and self._has_averages():
            self._swap()
            self._ema_in_model = True

    def on_test_end(self, logs=None) -> None:
        if self._ema_in_model and not self.swap_on_epoch:
            self._swap()
            self._ema_in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end

    def _has_averages(self) -> bool:
        return bool(self._optimizer()._model_variables_moving_average)
