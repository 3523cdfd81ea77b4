"""Neural-network building blocks (``ts.nn``): ``Module``, parameters, containers, layers, losses,
initialisers and utilities, with PyTorch's names, parameter layouts and defaults."""

from . import functional, init, modules, parallel, utils  # noqa: F401
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
