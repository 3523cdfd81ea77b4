"""The primitive-op registry's contents: every differentiable op, defined once with its forward, its
shape/dtype rule and its gradient rule. Importing this package binds the ops' Tensor methods.

Each module owns one family of ops and lists its public functions in ``__all__``.
"""

from ..core.creation import ones_like, zeros_like  # noqa: F401
from ..core.dispatch import REGISTRY, OpDef, apply  # noqa: F401
from . import (  # noqa: F401  (registered on import)
    elementwise,
    fft,
    indexing,
    linalg,
    random,
    reduction,
    shape,
    sorting,
    sparse,
    state,
    views,
)
from .elementwise import *  # noqa: F401,F403
from .fft import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403

__all__ = (
    elementwise.__all__ + indexing.__all__ + linalg.__all__ + reduction.__all__ + shape.__all__
    + random.__all__ + sorting.__all__ + sparse.__all__ + fft.__all__
)  # fmt: skip
