"""Autograd support for in-place writes through views (PyTorch's CopySlices).

When ``v`` is a view of ``base`` (a chain of view ops recorded at dispatch) and ``v`` is modified in place,
``base`` gets a new history: ``copy_slices(base_old, v_new)``, which is ``base_old`` with the view region
replaced by ``v_new``. Its gradient sends ``g`` with that region zeroed to ``base_old`` and the region of
``g`` to ``v_new``.

The chain is an attribute of ``copy_slices``, so it is static and hashable: a tuple of
``(op name, ((attr, value), ...))`` pairs, the ops looked up in ``REGISTRY`` when it is replayed. View ops
take no tensor input but the viewed one (index tensors make advanced indexing a copy, never a view).
"""

from __future__ import annotations

from ..core.dispatch import REGISTRY, OpDef, TensorMeta, apply
from ..core.tensor import _OPS

__all__: list[str] = []


def chain_attr(chain) -> tuple:
    """A view chain (``(OpDef, attrs dict)`` pairs, as tensors record it) as a hashable attribute."""
    return tuple(
        (op.name, tuple(sorted(attrs.items()))) if isinstance(op, OpDef) else (op, attrs)
        for op, attrs in chain
    )


def _steps(chain):
    for op, attrs in chain:
        if isinstance(op, str):
            yield REGISTRY[op], dict(attrs)
        else:
            yield op, attrs


def replay(x, chain):
    """Re-apply a chain of view ops (recorded, or as ``chain_attr`` gives it) to ``x`` (differentiable)."""
    for op, attrs in _steps(chain):
        x = apply(op, (x,), attrs)
    return x


def _copy_slices_forward(base, value, chain):
    out = base.copy(order="K")
    region = out
    for op, attrs in _steps(chain):
        region = op.forward(region, **attrs)
    region[...] = value
    return out


COPY_SLICES = OpDef("copy_slices", _copy_slices_forward)


@COPY_SLICES.defshape
def _copy_slices_rule(base, value, chain):
    return TensorMeta(tuple(base.shape), base.dtype)


@COPY_SLICES.defgrad
def _copy_slices_grad(ctx, g):
    base, value = ctx.saved
    chain = ctx.attrs["chain"]
    g_base = apply(COPY_SLICES, (g, value.detach() * 0), {"chain": chain}) if ctx.needs_grad[0] else None
    g_value = replay(g, chain) if ctx.needs_grad[1] else None
    return g_base, g_value


def _copy_slices(base, value, chain):
    return apply(COPY_SLICES, (base, value), {"chain": chain_attr(chain)})


_OPS.copy_slices = _copy_slices
_OPS.replay = replay
