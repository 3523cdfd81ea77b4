"""Autograd support for in-place writes through views (PyTorch's CopySlices).

When ``v`` is a view of ``base`` (a chain of view ops recorded at dispatch as static, serialisable
``(op name, attribute items)`` pairs) and ``v`` is modified in place, ``base`` gets a new history:
``copy_slices(base_old, v_new)``, which is ``base_old`` with the view region replaced by ``v_new``. Its
gradient sends ``g`` with that region zeroed to ``base_old`` and the region of ``g`` to ``v_new``.
"""

from __future__ import annotations

from ..core.dispatch import REGISTRY, OpDef, TensorMeta, apply
from ..core.tensor import _OPS

__all__: list[str] = []


def replay(x, chain):
    """Re-apply a recorded chain of view ops to ``x`` (tensor in, tensor out; differentiable)."""
    for name, attrs in chain:
        x = apply(REGISTRY[name], (x,), dict(attrs))
    return x


def _copy_slices_forward(base, value, chain):
    out = base.copy(order="K")
    region = out
    for name, attrs in chain:
        region = REGISTRY[name].forward(region, **dict(attrs))
    region[...] = value
    return out


COPY_SLICES = OpDef(
    "copy_slices",
    _copy_slices_forward,
    shape_rule=lambda base, value, chain: TensorMeta(base.shape, base.dtype),
)


@COPY_SLICES.defgrad
def _copy_slices_grad(ctx, g):
    base, value = ctx.saved
    chain = ctx.attrs["chain"]
    g_base = apply(COPY_SLICES, (g, value.detach() * 0), {"chain": chain}) if ctx.needs_grad[0] else None
    g_value = replay(g, chain) if ctx.needs_grad[1] else None
    return g_base, g_value


def _copy_slices(base, value, chain):
    return apply(COPY_SLICES, (base, value), {"chain": chain})


_OPS.copy_slices = _copy_slices
_OPS.replay = replay
