"""``ts.nn.grad``: the gradients of a convolution with respect to its input and its weight, as
``torch.nn.grad`` (``conv2d_input(input_size, weight, grad_output, ...)``...), computed by autograd through
the convolution itself (one definition of the math; differentiable again when the inputs require grad).

Example:
    >>> w, g = ts.randn(4, 3, 3, 3), ts.randn(1, 4, 6, 6)
    >>> ts.nn.grad.conv2d_input((1, 3, 8, 8), w, g).shape
    tessera.Size([1, 3, 8, 8])
"""

from __future__ import annotations

from .. import autograd
from ..core import creation
from ..core.tensor import Tensor
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _check(name: str, **tensors) -> None:
    for arg, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")


def _size(name: str, what: str, size, nd: int) -> tuple:
    size = tuple(int(s) for s in size)
    if len(size) not in (nd + 1, nd + 2):
        raise ValueError(f"{name}: {what} must have {nd + 2} entries (N, C, *spatial), got {list(size)}")
    return size


def _input_grad(nd, input_size, weight, grad_output, stride, padding, dilation, groups):
    name = f"conv{nd}d_input"
    _check(name, weight=weight, grad_output=grad_output)
    x = creation.zeros(_size(name, "input_size", input_size, nd), dtype=weight.dtype, requires_grad=True)
    out = _CONV[nd](x, weight, None, stride, padding, dilation, groups)
    if tuple(out.shape) != tuple(grad_output.shape):
        raise RuntimeError(
            f"{name}: grad_output has shape {tuple(grad_output.shape)}, but the convolution of an input of size "
            f"{list(input_size)} with weight {tuple(weight.shape)} gives {tuple(out.shape)}"
        )
    create = weight.requires_grad or grad_output.requires_grad
    (gx,) = autograd.grad(out, x, grad_output, create_graph=create)
    return gx


def _weight_grad(nd, input, weight_size, grad_output, stride, padding, dilation, groups):
    name = f"conv{nd}d_weight"
    _check(name, input=input, grad_output=grad_output)
    w = creation.zeros(_size(name, "weight_size", weight_size, nd), dtype=input.dtype, requires_grad=True)
    out = _CONV[nd](input, w, None, stride, padding, dilation, groups)
    if tuple(out.shape) != tuple(grad_output.shape):
        raise RuntimeError(
            f"{name}: grad_output has shape {tuple(grad_output.shape)}, but the convolution of input "
            f"{tuple(input.shape)} with a weight of size {list(weight_size)} gives {tuple(out.shape)}"
        )
    create = input.requires_grad or grad_output.requires_grad
    (gw,) = autograd.grad(out, w, grad_output, create_graph=create)
    return gw


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv1d`` with respect to an input of ``input_size``."""
    return _input_grad(1, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv2d`` with respect to an input of ``input_size``."""
    return _input_grad(2, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv3d`` with respect to an input of ``input_size``."""
    return _input_grad(3, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv1d`` with respect to a weight of ``weight_size``."""
    return _weight_grad(1, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv2d`` with respect to a weight of ``weight_size``."""
    return _weight_grad(2, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv3d`` with respect to a weight of ``weight_size``."""
    return _weight_grad(3, input, weight_size, grad_output, stride, padding, dilation, groups)
