"""Utilities, as ``torch.utils``: ``ts.utils.data`` is ``ts.data``; ``ts.utils.dlpack`` exchanges tensors
with other libraries; ``python -m tessera.utils.as_torch script.py`` runs a PyTorch script on Tessera."""

from . import data, dlpack
