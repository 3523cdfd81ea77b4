"""Define-by-run automatic differentiation: graph nodes, the backward engine, grad modes,
``GradientTape`` (TensorFlow style) and ``gradcheck``."""

from .engine import backward, grad
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Node

__all__ = [
    "backward",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "Node",
]

from .gradcheck import gradcheck, gradgradcheck  # noqa: E402

__all__ += ["gradcheck", "gradgradcheck"]

from .tape import GradientTape  # noqa: E402

__all__ += ["GradientTape"]
