"""The ``Distribution`` base class: shapes, argument and sample validation, and the defaults every
distribution shares (``sample`` from ``rsample``, ``stddev`` from ``variance``, ``perplexity``)."""

from __future__ import annotations

import numbers

import tessera as ts

__all__ = ["Distribution", "broadcast_all"]


def broadcast_all(*values):
    """The arguments as tensors of one broadcast shape; numbers take the dtype of the tensor arguments (the
    default float dtype when there are none), as ``torch.distributions.utils.broadcast_all``."""
    tensors = [v for v in values if isinstance(v, ts.Tensor)]
    for v in values:
        if not isinstance(v, (ts.Tensor, numbers.Number)):
            raise ValueError(
                f"Input arguments must all be instances of numbers.Number or Tensor, got {type(v)}"
            )
    dtype = tensors[0].dtype if tensors else ts.get_default_dtype()
    as_tensors = [v if isinstance(v, ts.Tensor) else ts.tensor(float(v), dtype=dtype) for v in values]
    return ts.broadcast_tensors(*as_tensors)


class Distribution:
    """Base class of the distributions. Subclasses set ``arg_constraints`` and ``support`` and implement
    ``rsample`` (reparameterised) or ``sample``, ``log_prob`` and ``entropy``."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support = None
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for distributions created afterwards without ``validate_args``."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args: value must be True or False")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None):
        self._batch_shape = ts.Size(batch_shape)
        self._event_shape = ts.Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if param not in self.__dict__:
                    continue  # a lazily derived parametrisation (probs from logits...)
                value = getattr(self, param)
                if not bool(constraint.check(value).all()):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {constraint!r}, but found invalid "
                        f"values:\n{value}"
                    )

    @property
    def batch_shape(self) -> ts.Size:
        return self._batch_shape

    @property
    def event_shape(self) -> ts.Size:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> ts.Size:
        if isinstance(sample_shape, numbers.Integral):
            raise TypeError(f"sample_shape must be a tuple or torch.Size, got {sample_shape!r}")
        return ts.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample(self, sample_shape=()):
        """Draw without gradient; ``rsample`` keeps the graph where the distribution supports it."""
        with ts.no_grad():
            return self.rsample(sample_shape)

    def sample_n(self, n: int):
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return ts.exp(self.entropy())

    def _validate_sample(self, value) -> None:
        if not isinstance(value, ts.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        start = value.ndim - len(self._event_shape)
        if tuple(value.shape[start:]) != tuple(self._event_shape):
            raise ValueError(
                f"The right-most size of value must match event_shape: {value.shape} vs {self._event_shape}."
            )
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(tuple(value.shape)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    f"Value is not broadcastable with batch_shape+event_shape: {value.shape} vs {ts.Size(expected)}."
                )
        if not bool(self.support.check(value).all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be within the "
                f"support ({self.support!r}) of the distribution {self!r}, but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = []
        for k in names:
            v = self.__dict__[k]
            parts.append(f"{k}: {v.item() if v.numel() == 1 else v.shape}")
        return f"{type(self).__name__}({', '.join(parts)})"
