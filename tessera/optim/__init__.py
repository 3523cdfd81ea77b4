"""``ts.optim``: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) and ``ts.optim.lr_scheduler``, with
PyTorch's names, arguments, update formulas and state_dict format.

Example:
    >>> model = ts.nn.Linear(4, 1)
    >>> opt = ts.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = ts.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> x, y = ts.randn(8, 4), ts.randn(8, 1)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     loss = ((model(x) - y) ** 2).mean()
    ...     loss.backward()
    ...     opt.step()
    ...     sched.step()
"""

from . import lr_scheduler, swa_utils
from ._stateless import swap_in_optimizer_params_and_state
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD, Rprop
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam, RAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "ASGD",
    "Rprop",
    "Adafactor",
    "SparseAdam",
    "Muon",
    "LBFGS",
    "lr_scheduler",
    "swa_utils",
    "swap_in_optimizer_params_and_state",
]
