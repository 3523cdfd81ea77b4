"""Tessera: a small deep-learning framework with PyTorch's define-by-run autograd and TensorFlow's
deployment story. ``import tessera as ts``.

Example:
    >>> import tessera as ts
    >>> x = ts.tensor(2.0, requires_grad=True)
    >>> y = x**2 + 3*x + 1
    >>> y.backward()
    >>> x.grad
    tensor(7.)
"""

import warnings as _warnings

from . import autograd, data, nn, ops, optim, utils
from . import compile as compiler  # noqa: E402  (ts.compiler: explain, reset, logs)
from .autograd import GradientTape
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .compile import compile  # noqa: E402,F811
from .core.allocator import tune_malloc as _tune_malloc
from .core.compat import *  # noqa: F401,F403
from .core.creation import *  # noqa: F401,F403
from .core.device import cuda_is_available, device
from .core.dtypes import (
    bfloat16,
    bool,
    can_cast,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    result_type,
    set_default_dtype,
    short,
    uint8,
)
from .core.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .core.tensor import Size, Tensor
from .nn.functional.toplevel import *  # noqa: F401,F403  (torch.conv2d, torch.batch_norm...)
from .ops import *  # noqa: F401,F403
from .serialization import load, save

__version__ = "0.1.0"

_tune_malloc()

# NumPy reports log(0), 0/0 and overflow as RuntimeWarnings; like PyTorch, Tessera returns inf/nan silently.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tessera(\.|$)")


_LAZY_SUBMODULES = frozenset(
    (
        "accelerator amp backends cuda distributions export fft keras linalg mps onnx serve sparse special tensorboard"
    ).split()
)


# Names of lazily loaded submodules that ``ts`` exports too: name -> submodule.
_LAZY_ATTRS = {"autocast": "amp"}


def __getattr__(name):
    # Heavier subsystems load on first use so that ``import tessera`` stays fast.
    if name in _LAZY_SUBMODULES or name in _LAZY_ATTRS:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY_ATTRS.get(name, name)}")
        value = getattr(module, name) if name in _LAZY_ATTRS else module
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tessera' has no attribute {name!r}")
