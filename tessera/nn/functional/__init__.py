"""``ts.nn.functional`` (imported as ``F``): the functional forms of layers, activations and losses.

Each submodule lists its functions in ``__all__``; ops with their own math live in ``tessera.ops``.
"""

from ...ops import gelu, hardtanh, leaky_relu, one_hot, pad, relu, relu6, sigmoid, silu, softplus, tanh
from . import activation as _activation
from . import attention as _attention
from . import conv as _conv
from . import dropout as _dropout
from . import linear as _linear
from . import loss as _loss
from . import normalization as _normalization
from . import pooling as _pooling
from . import vision as _vision
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403

__all__ = (
    [
        "gelu",
        "hardtanh",
        "leaky_relu",
        "one_hot",
        "pad",
        "relu",
        "relu6",
        "sigmoid",
        "silu",
        "softplus",
        "tanh",
    ]
    + _activation.__all__
    + _attention.__all__
    + _conv.__all__
    + _dropout.__all__
    + _linear.__all__
    + _loss.__all__
    + _normalization.__all__
    + _pooling.__all__
    + _vision.__all__
)
