"""Numerical gradient checking against central finite differences (use float64 inputs)."""

from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from .engine import grad as _grad

__all__ = ["gradcheck", "gradgradcheck"]


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor)]


def gradcheck(
    fn,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check autograd's gradients of ``fn(*inputs)`` against central finite differences.

    Each output is projected on a fixed random vector ``v``; the analytical ``v^T J`` from one backward
    pass is compared, per input element, with ``(f(x + eps) - f(x - eps)) . v / (2 eps)``. Inputs that
    require grad are checked; use float64 for meaningful results.

    Example:
        >>> x = ts.randn(3, dtype=ts.float64, requires_grad=True)
        >>> ts.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: at least one input tensor must require grad")
    for i in diff:
        if inputs[i].dtype.name != "float64" and raise_exception:
            pass  # allowed, but tolerances must then be loosened by the caller
    outs = _flat_outputs(fn(*inputs))
    rng = np.random.default_rng(seed)
    vs = [Tensor._wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype)) for o in outs]
    used = [k for k, o in enumerate(outs) if o.requires_grad]
    if used:
        analytical = _grad(
            [outs[k] for k in used], [inputs[i] for i in diff], [vs[k] for k in used], allow_unused=True
        )
    else:
        analytical = [None] * len(diff)

    def projected():
        res = _flat_outputs(fn(*inputs))  # not under no_grad: fn may itself differentiate (gradgradcheck)
        return sum(float(np.sum(o._data.astype(np.float64) * v._data)) for o, v in zip(res, vs))

    for j, i in enumerate(diff):
        x = inputs[i]._data
        num = np.zeros(x.shape, dtype=np.float64)
        flat = x.reshape(-1)  # a view: perturbations are seen by fn through the same tensor
        if not np.shares_memory(flat, x):
            raise ValueError("gradcheck: inputs must be contiguous")
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            fp = projected()
            flat[k] = orig - eps
            fm = projected()
            flat[k] = orig
            num.reshape(-1)[k] = (fp - fm) / (2 * eps)
        a = analytical[j]
        ana = np.zeros(x.shape) if a is None else a._data.astype(np.float64)
        if not np.allclose(ana, num, atol=atol, rtol=rtol):
            if raise_exception:
                worst = np.unravel_index(np.argmax(np.abs(ana - num)), x.shape) if x.ndim else ()
                raise RuntimeError(
                    f"gradcheck: Jacobian mismatch for input {i} (shape {x.shape}); worst at index {worst}: "
                    f"analytical {ana[worst]!r} vs numerical {num[worst]!r}\nanalytical:\n{ana}\nnumerical:\n{num}"
                )
            return False
    return True


def gradgradcheck(
    fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 1
) -> bool:
    """Check second derivatives: gradcheck of the (create_graph) gradient of ``fn`` w.r.t. its inputs."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)

    def first_grads(*xs):
        outs = _flat_outputs(fn(*xs))
        vs = [
            Tensor._wrap(np.random.default_rng(seed).standard_normal(o._data.shape).astype(o._data.dtype))
            for o in outs
        ]
        ds = [t for t in xs if isinstance(t, Tensor) and t.requires_grad]
        gs = _grad(outs, ds, vs, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
