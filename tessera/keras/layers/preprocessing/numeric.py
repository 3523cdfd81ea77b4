"""Numeric preprocessing layers: ``Normalization``, ``Discretization`` and ``CategoryEncoding``.

``adapt`` statistics are computed on the host from the data (as Keras does with NumPy); the layers' calls are
Tessera ops, so ``Normalization`` is differentiable with respect to its input.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .... import ops
from ....core import creation
from ....core import dtypes as _dt
from ....core.grad_mode import no_grad
from ....core.tensor import Tensor
from ..base import Layer
from ._common import check_choice, check_int, encode_categorical, iter_batches, to_host

__all__ = ["Normalization", "Discretization", "CategoryEncoding"]

_EPSILON = 1e-7  # keras.config.epsilon()


def _float_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x if x.dtype is _dt.float32 else x.to(_dt.float32)
    return creation.as_tensor(np.asarray(to_host(x), dtype=np.float32))


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance per position of ``axis`` (default the last):
    ``(x - mean) / max(sqrt(variance), 1e-7)`` (``invert=True`` undoes it). ``mean``/``variance`` are given
    or learned with ``adapt`` (stored as the non-trainable weights ``adapt_mean``, ``adapt_variance``,
    ``count``).

    Example:
        >>> layer = ts.keras.layers.Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], dtype="float32"))
        >>> layer(np.array([[1.0, 20.0]], dtype="float32")).tolist()
        [[0.0, 0.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral):
            axis = (int(axis),)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        if (mean is not None) != (variance is not None):
            raise ValueError(
                "Normalization: when setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        if mean is not None:
            if np.shape(to_host(mean)) != np.shape(to_host(variance)):
                raise ValueError(
                    "Normalization: when setting values directly, `mean` and `variance` must have the same "
                    f"shape. Received: mean shape {np.shape(to_host(mean))} and variance shape "
                    f"{np.shape(to_host(variance))}"
                )
            if np.ndim(to_host(mean)) > len(self.axis):
                raise ValueError(
                    f"Normalization: the rank of `mean` must be less than or equal to the number of axes "
                    f"({len(self.axis)}). Received: mean shape {np.shape(to_host(mean))} for axis {self.axis}"
                )
        self.input_mean = None if mean is None else np.asarray(to_host(mean), np.float32)
        self.input_variance = None if variance is None else np.asarray(to_host(variance), np.float32)
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"Normalization: all `axis` values must be in the range [-ndim, ndim). Received inputs with "
                f"ndim={ndim}, while axis={self.axis}"
            )
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(
                    f"Normalization: all `axis` values to be kept must have a known shape. Received "
                    f"axis={self.axis}, inputs.shape={tuple(input_shape)}, with unknown axis at index {d}"
                )
        d = self.__dict__
        d["_keep_axis"] = keep
        d["_reduce_axis"] = tuple(i for i in range(ndim) if i not in keep)
        d["_broadcast_shape"] = tuple(input_shape[i] if i in keep else 1 for i in range(ndim))
        d["_stat_shape"] = tuple(input_shape[i] for i in keep)
        if self.input_mean is None:
            self.add_weight("adapt_mean", self._stat_shape, initializer="zeros", trainable=False)
            self.add_weight("adapt_variance", self._stat_shape, initializer="ones", trainable=False)
            self.add_weight("count", (), dtype="int32", initializer="zeros", trainable=False)
            d["_fixed"] = None
        else:
            mean, var = self.input_mean, self.input_variance
            if mean.ndim:
                expanded = [1] * ndim
                for i in range(1, mean.ndim + 1):
                    expanded[keep[-i]] = mean.shape[-i]
                mean, var = mean.reshape(expanded), var.reshape(expanded)
            mean = np.broadcast_to(mean, self._broadcast_shape).astype(np.float32)
            var = np.broadcast_to(var, self._broadcast_shape).astype(np.float32)
            d["_fixed"] = (creation.as_tensor(mean.copy()), creation.as_tensor(var.copy()))

    @property
    def mean(self):
        """The mean, broadcastable against the inputs (None until built)."""
        if not self.built:
            return None
        return self._fixed[0] if self._fixed is not None else self.adapt_mean.reshape(self._broadcast_shape)

    @property
    def variance(self):
        """The variance, broadcastable against the inputs (None until built)."""
        if not self.built:
            return None
        return (
            self._fixed[1] if self._fixed is not None else self.adapt_variance.reshape(self._broadcast_shape)
        )

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Compute the mean and (population) variance of ``data`` (an array, tensor or iterable of batches)
        over the axes not in ``axis``; batches are merged exactly.

        Example:
            >>> layer = ts.keras.layers.Normalization(axis=None)
            >>> layer.adapt(np.array([1.0, 2.0, 3.0]))
            >>> round(float(layer.variance.reshape(-1)[0]), 4)
            0.6667
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization '{self.name}': cannot adapt a layer created with `mean` and `variance`"
            )
        total_mean = total_var = None
        total_count = 0
        for batch in iter_batches("Normalization", data, batch_size, steps, lists_are_batches=True):
            arr = np.asarray(to_host(batch), dtype=np.float64)
            if arr.dtype == object or arr.ndim == 0:
                raise TypeError(
                    f"Normalization.adapt: expected numeric array batches, got {type(batch).__name__}"
                )
            if not self.built:
                self._do_build((None,) + arr.shape[1:] if arr.ndim > 1 else tuple(arr.shape))
            if arr.ndim != len(self._broadcast_shape) or any(
                arr.shape[d] != self._broadcast_shape[d] for d in self._keep_axis
            ):
                raise ValueError(
                    f"Normalization '{self.name}': the layer was built with input_shape="
                    f"{self._build_input_shape}, but adapt() is being called with data with an incompatible "
                    f"shape, data.shape={arr.shape}"
                )
            mean = arr.mean(axis=self._reduce_axis)
            var = arr.var(axis=self._reduce_axis)
            count = math.prod(arr.shape[d] for d in self._reduce_axis)
            if total_mean is None:
                total_mean, total_var, total_count = mean, var, count
                continue
            total_count += count
            w = count / total_count
            new_mean = total_mean * (1 - w) + mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + (
                var + (mean - new_mean) ** 2
            ) * w
            total_mean = new_mean
        if total_mean is None:
            raise ValueError("Normalization.adapt: received no data (an empty iterable)")
        with no_grad():
            self.adapt_mean.copy_(
                creation.as_tensor(np.asarray(total_mean, np.float32).reshape(self._stat_shape))
            )
            self.adapt_variance.copy_(
                creation.as_tensor(np.asarray(total_var, np.float32).reshape(self._stat_shape))
            )
            self.count.copy_(creation.as_tensor(np.asarray(total_count, np.int32)))

    def call(self, inputs):
        x = _float_tensor(inputs)
        scale = ops.maximum(ops.sqrt(self.variance), creation.as_tensor(np.float32(_EPSILON)))
        if self.invert:
            return self.mean + x * scale
        return (x - self.mean) / scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": list(self.axis) if len(self.axis) != 1 else self.axis[0],
            "invert": self.invert,
            "mean": None if self.input_mean is None else self.input_mean.tolist(),
            "variance": None if self.input_variance is None else self.input_variance.tolist(),
        }


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    bounds = values[int(step - 1) :: int(step)]
    return np.stack([bounds, np.ones_like(bounds) * step])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    cum_pct = cum / cum[-1]
    bins = np.interp(percents, cum_pct, summary[0])
    cum = np.interp(percents, cum_pct, cum)
    return np.stack((bins, cum - np.concatenate(([0], cum[:-1])))).astype("float32")


class Discretization(Layer):
    """Buckets numbers by ``bin_boundaries`` (bin ``i`` holds ``boundaries[i-1] <= x < boundaries[i]``), or by
    ``num_bins`` quantile boundaries learned with ``adapt`` (Keras's approximate summary with ``epsilon``);
    ``output_mode`` ``'int'`` (int32 bins), ``'one_hot'``, ``'multi_hot'`` or ``'count'``.

    Example:
        >>> layer = ts.keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5]])).tolist()
        [[0, 2, 3, 1]]
    """

    _autocast = False

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon: float = 0.01,
        output_mode: str = "int",
        sparse: bool = False,
        dtype=None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError(
                "Discretization: `sparse=True` is not supported (Tessera has dense tensors only)"
            )
        check_choice("Discretization", "output_mode", output_mode, ("int", "one_hot", "multi_hot", "count"))
        if num_bins is not None:
            num_bins = check_int("Discretization", "num_bins", num_bins)
            if num_bins < 0:
                raise ValueError(
                    f"Discretization: `num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`"
                )
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                "Discretization: both `num_bins` and `bin_boundaries` should not be set. Received: "
                f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`"
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: you need to set either `num_bins` or `bin_boundaries`.")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in to_host(bin_boundaries).reshape(-1)]
            if any(b > c for b, c in zip(bin_boundaries, bin_boundaries[1:])):
                raise ValueError(f"Discretization: `bin_boundaries` must be sorted, got {bin_boundaries}")
        self.bin_boundaries, self.num_bins = bin_boundaries, num_bins
        self.epsilon, self.output_mode, self.sparse = float(epsilon), output_mode, False
        self.summary = None if bin_boundaries else np.array([[], []], dtype="float32")
        self.built = True

    def _convert(self, x, dtype):
        return x

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn ``num_bins`` quantile boundaries from ``data`` (an array or an iterable of batches).

        Example:
            >>> layer = ts.keras.layers.Discretization(num_bins=4, epsilon=0.01)
            >>> layer.adapt(np.arange(100.0))
            >>> [round(b, 3) for b in layer.bin_boundaries]
            [24.0, 49.0, 74.0]
        """
        if self.num_bins is None:
            raise ValueError(
                "Discretization: cannot adapt a Discretization layer that has been initialized with "
                "`bin_boundaries`, use `num_bins` instead."
            )
        self.reset_state()
        for batch in iter_batches("Discretization", data, batch_size, steps, lists_are_batches=True):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        summary = _summarize(np.asarray(to_host(data)).astype("float32"), self.epsilon)
        merged = np.concatenate((summary, self.summary), axis=1)
        self.summary = _compress(np.take(merged, np.argsort(merged[0]), axis=1), self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self.summary = np.array([[], []], dtype="float32")

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                "Discretization: you need to either pass the `bin_boundaries` argument at construction time or "
                "call `adapt(dataset)` before you can start using the `Discretization` layer."
            )
        x = inputs if isinstance(inputs, Tensor) else creation.as_tensor(np.asarray(to_host(inputs)))
        if x.dtype is _dt.bool:
            x = x.to(_dt.uint8)
        bounds = creation.as_tensor(np.asarray(self.bin_boundaries, dtype=np.dtype(x.dtype.np)))
        indices = ops.bucketize(x, bounds, right=True).to(_dt.int32)
        if self.output_mode == "int":
            return indices
        out = encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1)
        return out if self._dtype is _dt.float32 else out.to(self._dtype)

    def get_config(self) -> dict:
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self._dtype.name,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)


class CategoryEncoding(Layer):
    """Encodes integer category indices in ``[0, num_tokens)`` as ``'multi_hot'`` (default), ``'one_hot'`` or
    ``'count'`` vectors (``count_weights`` weighs the counts).

    Example:
        >>> layer = ts.keras.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
        >>> layer([3, 2, 0, 1]).tolist()[0]
        [0.0, 0.0, 0.0, 1.0]
    """

    _autocast = False

    def __init__(self, num_tokens=None, output_mode: str = "multi_hot", sparse: bool = False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        check_choice("CategoryEncoding", "output_mode", output_mode, ("count", "one_hot", "multi_hot"))
        if num_tokens is None:
            raise ValueError(
                "CategoryEncoding: num_tokens must be set to use this layer. If the number of tokens is not known "
                "beforehand, use the IntegerLookup layer instead."
            )
        num_tokens = check_int("CategoryEncoding", "num_tokens", num_tokens)
        if num_tokens < 1:
            raise ValueError(
                f"CategoryEncoding: `num_tokens` must be >= 1. Received: num_tokens={num_tokens}."
            )
        if sparse:
            raise ValueError(
                "CategoryEncoding: `sparse=True` is not supported (Tessera has dense tensors only)"
            )
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, False
        self.built = True

    def _convert(self, x, dtype):
        return x

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                "CategoryEncoding: `count_weights` is not used when `output_mode` is not `'count'`. "
                f"Received `count_weights={count_weights}`."
            )
        x = inputs if isinstance(inputs, Tensor) else creation.as_tensor(np.asarray(to_host(inputs)))
        if x.dtype.is_floating_point or x.dtype is _dt.bool:
            x = x.to(_dt.int64)
        host = to_host(x)
        if host.size and (host.min() < 0 or host.max() >= self.num_tokens):
            raise ValueError(
                f"CategoryEncoding '{self.name}': input values must be in the range 0 <= values < num_tokens "
                f"with num_tokens={self.num_tokens}; got values in [{host.min()}, {host.max()}]"
            )
        weights = None if count_weights is None else _float_tensor(count_weights)
        out = encode_categorical(x, self.output_mode, self.num_tokens, count_weights=weights)
        return out if self._dtype is _dt.float32 else out.to(self._dtype)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if input_shape[-1] != 1 or len(input_shape) == 1:
                return input_shape + (self.num_tokens,)
            return input_shape[:-1] + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
