"""Neural-network building blocks (``ts.nn``): ``Module``, parameters, containers, layers, losses,
initialisers and utilities, with PyTorch's names, parameter layouts and defaults."""

from . import common_types, functional, grad, init, modules, parallel, utils  # noqa: F401
from .containers import Container, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .module import Module
from .modules.activation import *  # noqa: F401,F403
from .modules.attention import *  # noqa: F401,F403
from .modules.conv import *  # noqa: F401,F403
from .modules.distance import *  # noqa: F401,F403
from .modules.dropout import *  # noqa: F401,F403
from .modules.fold import *  # noqa: F401,F403
from .modules.lazy import *  # noqa: F401,F403
from .modules.linear import *  # noqa: F401,F403
from .modules.loss import *  # noqa: F401,F403
from .modules.normalization import *  # noqa: F401,F403
from .modules.padding import *  # noqa: F401,F403
from .modules.pooling import *  # noqa: F401,F403
from .modules.rnn import *  # noqa: F401,F403
from .modules.sparse import *  # noqa: F401,F403
from .modules.transformer import *  # noqa: F401,F403
from .parallel import DataParallel
from .parameter import Buffer, Parameter


def factory_kwargs(kwargs: dict | None) -> dict:
    """The ``device``/``dtype``/``memory_format`` entries of a layer's ``**kwargs`` (and of an explicit
    ``factory_kwargs`` entry) as one dict for the factory functions, as ``torch.nn.factory_kwargs``;
    unexpected keys raise ``TypeError``.

    Example:
        >>> ts.nn.factory_kwargs({"dtype": ts.float64})
        {'dtype': tessera.float64}
    """
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    unexpected = set(kwargs) - simple - {"factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    out = dict(kwargs.get("factory_kwargs", {}))
    for key in simple & set(kwargs):
        if key in out:
            raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
        out[key] = kwargs[key]
    return out
