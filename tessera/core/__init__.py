"""Core: dtypes, devices, the ``Tensor`` class, tensor factories, random generators, grad modes and graph
nodes, and the op registry with its single dispatch point (``apply``) and interceptors (``intercept``).

Nothing here imports from the higher layers (autograd, ops, nn, optim, keras...); the few functions the
``Tensor`` class needs from above (``backward``, ``clone``...) are filled in by those layers at import.
"""

from .dispatch import REGISTRY, OpCall, OpDef, OpError, TensorMeta, apply, infer_meta, intercept, is_tracing

__all__ = [
    "REGISTRY",
    "OpCall",
    "OpDef",
    "OpError",
    "TensorMeta",
    "apply",
    "infer_meta",
    "intercept",
    "is_tracing",
]
