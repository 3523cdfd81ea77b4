"""``ts.utils.data``: the same module as ``ts.data`` (PyTorch spells it ``torch.utils.data``).

Example:
    >>> import tessera.utils.data
    >>> tessera.utils.data.DataLoader is tessera.data.DataLoader
    True
"""

import sys as _sys

from .. import data as _data
from ..data import _worker, collate, dataloader, dataset, sampler  # noqa: F401  (loaded for the aliases below)

# Make ``tessera.utils.data`` (and its submodules, e.g. ``tessera.utils.data.sampler``) *be* ``tessera.data``
# so both spellings share every class and function.
for _name in ("_worker", "collate", "dataloader", "dataset", "sampler"):
    _sys.modules[f"{__name__}.{_name}"] = _sys.modules[f"{_data.__name__}.{_name}"]
_sys.modules[__name__] = _data
