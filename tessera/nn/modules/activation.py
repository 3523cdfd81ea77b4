"""Activation modules: ``ReLU``, ``GELU``, ``SiLU``, ``Tanh``, ``Sigmoid``, ``Softmax``, ``LogSoftmax``,
``LeakyReLU``, ``ELU``, ``PReLU``, ``RReLU``, ``Threshold``, the shrinkage layers and friends."""

from __future__ import annotations

import numbers

from ... import ops
from ...core import creation
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "ReLU",
    "ReLU6",
    "GELU",
    "SiLU",
    "Tanh",
    "Sigmoid",
    "Softmax",
    "LogSoftmax",
    "Softmin",
    "LeakyReLU",
    "ELU",
    "SELU",
    "CELU",
    "Softplus",
    "Hardtanh",
    "Hardsigmoid",
    "Hardswish",
    "Mish",
    "LogSigmoid",
    "Softsign",
    "Tanhshrink",
    "GLU",
    "PReLU",
    "RReLU",
    "Threshold",
    "Hardshrink",
    "Softshrink",
    "Softmax2d",
]


class ReLU(Module):
    """``max(x, 0)`` elementwise."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return ops.relu(input, inplace=self.inplace) if self.inplace else ops.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU6(ReLU):
    """``min(max(x, 0), 6)`` elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return ops.relu6(input, self.inplace)


class GELU(Module):
    """Gaussian error linear unit; ``approximate='tanh'`` for the tanh approximation."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return ops.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


def _simple(name, fn, doc):
    def forward(self, input):
        return fn(input)

    return type(name, (Module,), {"forward": forward, "__doc__": doc, "__init__": _plain_init})


def _plain_init(self, *args, **kwargs):
    Module.__init__(self)


def _with_inplace(name, fn, doc, show=True):
    """An activation module ``name(inplace=False)`` calling ``fn(input, inplace=...)``; ``show``: the
    repr says ``inplace=True`` (PyTorch's Hardsigmoid and Hardswish do not)."""

    def __init__(self, inplace: bool = False):
        Module.__init__(self)
        self.inplace = inplace

    def forward(self, input):
        return fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace and show else ""

    return type(
        name, (Module,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr, "__doc__": doc}
    )


SiLU = _with_inplace("SiLU", ops.silu, "``x * sigmoid(x)`` elementwise.")
Tanh = _simple("Tanh", ops.tanh, "Hyperbolic tangent elementwise.")
Sigmoid = _simple("Sigmoid", ops.sigmoid, "Logistic sigmoid elementwise.")
Mish = _with_inplace("Mish", F.mish, "``x * tanh(softplus(x))``.")
LogSigmoid = _simple("LogSigmoid", F.logsigmoid, "``log(sigmoid(x))``, computed stably.")
Softsign = _simple("Softsign", F.softsign, "``x / (1 + |x|)``.")
Tanhshrink = _simple("Tanhshrink", F.tanhshrink, "``x - tanh(x)``.")
Hardsigmoid = _with_inplace("Hardsigmoid", F.hardsigmoid, "Piecewise-linear sigmoid.", show=False)
Hardswish = _with_inplace("Hardswish", F.hardswish, "``x * hardsigmoid(x)``.", show=False)
SELU = _with_inplace("SELU", F.selu, "Scaled ELU with the self-normalising constants.")


class _DimModule(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimModule):
    """Softmax along ``dim``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)


class LogSoftmax(_DimModule):
    """Log-softmax along ``dim``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Softmin(_DimModule):
    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class GLU(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return ops.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return ops.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta`` (linear above ``threshold``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return ops.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """``input`` clamped to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return ops.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``.

    Example:
        >>> ts.nn.Threshold(0.1, 20.0)(ts.tensor([0.0, 1.0]))
        tensor([20.,  1.])
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class _Shrink(Module):
    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """``x`` where ``|x| > lambd``, else 0 (``F.hardshrink``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """``x -/+ lambd`` outside ``[-lambd, lambd]``, else 0 (``F.softshrink``)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Softmax2d(Module):
    """Softmax over the channels of a (N, C, H, W) or (C, H, W) input, at every location.

    Example:
        >>> ts.nn.Softmax2d()(ts.zeros(1, 2, 1, 1)).flatten()
        tensor([0.5000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim not in (3, 4):
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {got} instead")
        return F.softmax(input, -3)


class PReLU(Module):
    """``x`` where positive, else ``a * x`` with a learnable slope ``a``: one (``num_parameters=1``) or
    one per channel (dim 1), initialised to ``init``.

    Example:
        >>> m = ts.nn.PReLU(3)
        >>> m(ts.full((1, 3), -1.0))
        tensor([[-0.2500, -0.2500, -0.2500]], grad_fn=<WhereBackward0>)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        if (
            not isinstance(num_parameters, numbers.Integral)
            or isinstance(num_parameters, bool)
            or num_parameters < 1
        ):
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters!r}")
        self.num_parameters, self.init = int(num_parameters), init
        self.weight = Parameter(creation.empty(self.num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: random slopes in U(lower, upper) in training, their mean in evaluation.

    Example:
        >>> m = ts.nn.RReLU(0.1, 0.3).eval()
        >>> m(ts.tensor([-1.0, 1.0]))
        tensor([-0.2000,  1.0000])
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")
