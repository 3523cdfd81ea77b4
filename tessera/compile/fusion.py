"""Fusion of elementwise chains into one C loop each.

A group is a run of consecutive nodes (program order is kept, so no write is crossed) whose ops have a
``"c"`` lowering in the registry and whose results all have the group's shape; inputs may broadcast into
it. Values used only inside the group stay in registers; the others are written out. The lowering of an op
is ``fn(ctx, *input_exprs, **attrs) -> C expression`` (or None when it cannot lower those attributes),
registered beside the op with ``OpDef.deflowering("c")``; ``ctx`` tells the compute type.
"""

from __future__ import annotations

import concurrent.futures
import math
import mmap
import sys
import weakref

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import REGISTRY, TensorMeta, convert_scalar, promotion_target
from . import codegen_c, logs
from .ir import Value

__all__ = ["CContext", "fuse_and_compile", "MIN_ELEMENTS"]

# Below this many elements per group a NumPy call is as fast as a native call through ctypes.
MIN_ELEMENTS = 4096
# Loops over fewer elements run on one core: in a training step, the OpenMP team's threads otherwise fight
# BLAS's for the two cores, worst where PyTorch is imported and its OpenMP runtime (spinning threads) serves
# our loops too. Measured with torch imported: MLP step 17 -> 4.6 ms (2^18 -> 2^20), Transformer step
# 200 -> 139 ms and CNN 89 -> 55 ms (2^20 -> 2^23); a lone 16M-element chain still runs on both cores.
_PARALLEL_ELEMENTS = 1 << 23


# name -> C source of the helper functions lowerings have asked for (``CContext.helper``); a kernel library
# carries those its kernels call
_HELPERS: dict[str, str] = {}


class CContext:
    """What a lowering sees: the C type the op computes in and helpers for literals and libm names."""

    __slots__ = ("dtype", "t")

    def __init__(self, dtype):
        self.dtype = dtype
        self.t = codegen_c.CTYPES[dtype.name]

    @property
    def is_float(self) -> bool:
        return self.dtype.is_floating_point

    def fn(self, name: str) -> str:
        """The libm function for this type: ``exp`` -> ``expf`` for float32."""
        return name + "f" if self.t == "float" else name

    def helper(self, name: str, source: str) -> str:
        """Declares a C helper function (``static inline``, so it vectorizes inlined into the loop) that
        the lowering's expression calls by ``name``; returns ``name``."""
        _HELPERS.setdefault(name, source)
        return name

    def lit(self, value) -> str:
        return _literal(value, self.t)


def _literal(value, ctype) -> str:
    if ctype in ("float", "double"):
        v = float(value)
        if math.isnan(v):
            return "NAN"
        if math.isinf(v):
            return "INFINITY" if v > 0 else "(-INFINITY)"
        return f"{v!r}f" if ctype == "float" else repr(v)
    if ctype == "uint8_t" and isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    return f"(({ctype}){int(value)}LL)"


def _supported(dtype) -> bool:
    return dtype.name in codegen_c.CTYPES


def _node_expr(node, exprs_of):
    """The C expression of ``node``'s output, or None if it cannot be fused."""
    op = REGISTRY[node.op]
    lower = op.lowerings.get("c")
    if lower is None or node.writes or node.into or len(node.outputs) != 1:
        return None
    out = node.outputs[0]
    if not _supported(out.dtype):
        return None
    vals = [a for a in node.inputs if isinstance(a, Value)]
    if any(not _supported(v.dtype) for v in vals):
        return None
    if op.promote:
        compute = promotion_target(op, tuple(TensorMeta(a.shape, a.dtype) if isinstance(a, Value) else a
                                             for a in node.inputs))  # fmt: skip
    elif vals:
        # the output's type, except for tests (bool results), which compute in their input's type
        compute = out.dtype if out.dtype.name != "bool" else vals[0].dtype
        if op.to_float and not compute.is_floating_point:
            compute = _dt._default_float
    else:
        return None
    if not _supported(compute):
        return None
    ctx = CContext(compute)
    args = []
    for a in node.inputs:
        if isinstance(a, Value):
            e = exprs_of(a)
            if a.dtype is not compute and a.dtype.name != "bool":
                e = f"(({ctx.t}){e})"
            args.append(e)
        elif a is None or isinstance(a, str):
            args.append(a)
        elif op.promote and a.__class__ in (int, float, bool):
            args.append(ctx.lit(convert_scalar(op, a, compute)))
        elif isinstance(a, (int, float, bool, np.generic)):
            args.append(ctx.lit(a))
        else:
            return None
    try:
        expr = lower(ctx, *args, **node.attrs)
    except TypeError:
        return None
    if expr is None:
        return None
    out_t = codegen_c.CTYPES[out.dtype.name]
    if out.dtype.name == "bool":
        return f"((uint8_t)(({expr}) != 0))"
    return expr if out_t == ctx.t else f"(({out_t})({expr}))"


def _broadcastable(shape, target) -> bool:
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(shape[::-1], target[::-1]))


def _groups(graph, taken=frozenset()):
    """Runs of consecutive fusible nodes with one output shape (none of them in ``taken``): lists of node
    indices."""
    groups, cur, shape = [], [], None
    for i, node in enumerate(graph.nodes):
        ok = i not in taken and _fusible(node)
        if ok:
            out_shape = node.outputs[0].shape
            ins_ok = all(_broadcastable(a.shape, out_shape) for a in node.inputs if isinstance(a, Value))
            ok = ins_ok and all(isinstance(d, int) for d in out_shape)
        if ok and cur and node.outputs[0].shape == shape:
            cur.append(i)
            continue
        if cur:
            groups.append(cur)
        cur, shape = ([i], node.outputs[0].shape) if ok else ([], None)
    if cur:
        groups.append(cur)
    return groups


def _update_kernel(node, name):
    """A state-update node (``writes``, e.g. ``sgd_step``) with a ``"c_update"`` lowering as one loop over its
    first input, or None. The lowering is ``fn(c, *inputs, **attrs) -> (prologue, body)``: C statements over
    ``inputs`` (``in{k}[i]`` for tensors of the parameter's shape, ``in{k}[0]`` for 0-d ones, None for absent
    ones); the body assigns the inputs it writes."""
    op = REGISTRY[node.op]
    lower = op.lowerings.get("c_update")
    if lower is None or node.into or not node.writes:
        return None
    first = node.inputs[0]
    if not isinstance(first, Value) or not _supported(first.dtype) or first.dtype.name == "bool":
        return None
    n = math.prod(first.shape)
    if n < MIN_ELEMENTS:
        return None
    exprs, inputs, params = [], [], []
    for k, a in enumerate(node.inputs):
        if a is None:
            exprs.append(None)
            continue
        if not isinstance(a, Value) or not _supported(a.dtype):
            return None
        if tuple(a.shape) == tuple(first.shape):
            if a.dtype is not first.dtype:
                return None
            exprs.append(f"in{len(inputs)}[i]")
        elif math.prod(a.shape) == 1:
            exprs.append(f"in{len(inputs)}[0]")
        else:
            return None
        const = "" if k in node.writes else "const "
        params.append(f"{const}{codegen_c.CTYPES[a.dtype.name]}* restrict in{len(inputs)}")
        inputs.append(a)
    res = lower(CContext(first.dtype), *exprs, **node.attrs)
    if res is None:
        return None
    prologue, body = res
    params.append("int64_t n0")
    lines = [f"void {name}({', '.join(params)}) {{"] + [f"  {x}" for x in prologue]
    lines += _loops(1, ["i"], body) + ["}"]
    written = [node.inputs[w] for w in node.writes]
    # the op's own forward, for calls whose buffers turn out not to be contiguous
    template = [inputs.index(a) if isinstance(a, Value) else None for a in node.inputs]
    return {"name": name, "source": "\n".join(lines) + "\n", "inputs": inputs, "outputs": node.outputs,
            "shape": tuple(first.shape), "sizes": (n,), "written": [inputs.index(v) for v in written],
            "fallback": (op.forward, node.attrs, template)}  # fmt: skip


def _pointer_cache(slots):
    """``pointers(arrays) -> their data addresses``, remembering each slot's last array through a weak
    reference: ``ndarray.ctypes.data`` costs microseconds (measured 2.7 us), and the parameters, optimizer
    state and reused output buffers a kernel sees are the same arrays on every call."""
    cache = [(_dead, 0)] * slots

    def pointers(arrays):
        out = []
        for k, a in enumerate(arrays):
            ref, ptr = cache[k]
            if ref() is not a:
                ptr = a.ctypes.data
                cache[k] = (weakref.ref(a), ptr)
            out.append(ptr)
        return out

    return pointers


def _dead():
    return None


def _op_kernel(node, name):
    """A node whose op has a ``"c_kernel"`` lowering (a loop nest of its own, e.g. pooling) as one C
    function, or None. The lowering is ``fn(c, *input TensorMetas (None for an absent input), **attrs) ->
    (sizes, body)``: C statements over ``in{k}`` (the present inputs in order, dense, each in its own type),
    ``out0`` (the type ``c`` describes) and the sizes ``n{d}`` (passed at the call, so one library serves
    every size)."""
    lower = REGISTRY[node.op].lowerings.get("c_kernel")
    if lower is None or node.into or node.writes or len(node.outputs) != 1:
        return None
    out = node.outputs[0]
    vals = [a for a in node.inputs if isinstance(a, Value)]
    if any(a is not None and not isinstance(a, Value) for a in node.inputs):
        return None
    if not all(_supported(v.dtype) and all(isinstance(d, int) for d in v.shape) for v in (*vals, out)):
        return None
    if math.prod(out.shape) < MIN_ELEMENTS:
        return None
    metas = [None if a is None else TensorMeta(tuple(a.shape), a.dtype) for a in node.inputs]
    res = lower(CContext(out.dtype), *metas, **node.attrs)
    if res is None:
        return None
    sizes, body = res
    ctype = codegen_c.CTYPES
    params = [f"const {ctype[v.dtype.name]}* restrict in{k}" for k, v in enumerate(vals)]
    params += [f"{ctype[out.dtype.name]}* restrict out0"] + [f"int64_t n{d}" for d in range(len(sizes))]
    source = "\n".join([f"void {name}({', '.join(params)}) {{"] + [f"  {b}" for b in body] + ["}"]) + "\n"
    return {"name": name, "source": source, "inputs": vals, "outputs": [out], "shape": tuple(out.shape),
            "sizes": tuple(sizes)}  # fmt: skip


def _update_wrapper(cfn, spec):
    import ctypes

    cfn.argtypes = [ctypes.c_void_p] * len(spec["inputs"]) + [ctypes.c_int64]
    written = spec["written"]
    forward, attrs, template = spec["fallback"]
    (n,) = spec["sizes"]
    pointers = _pointer_cache(len(spec["inputs"]))

    def run(*ins):
        if all(a.flags.c_contiguous for a in ins):
            cfn(*pointers(ins), n)
        else:
            forward(*[None if k is None else ins[k] for k in template], **attrs)
        return [ins[k] for k in written]

    return run


# A (1, k) @ (k, n) product whose (k, n) operand is the transpose of a row-major (n, k) matrix (a Linear
# layer's weight on one sample) runs as row dot products, four rows per pass over the sample, with the
# elementwise ops that follow it (bias, activation) applied to each result in the same loop. Measured on
# 784 -> 512 with bias and relu: 28 us against 57 us for NumPy's GEMM and the two ops after it.
_VECMAT_MIN = 1 << 12  # n * k below which NumPy's call is as fast
_VECMAT_PARALLEL = 1 << 18


def _vecmat_members(graph, i, producer, uses, out_ids, taken):
    """Node indices of the vector-matrix group whose product is node ``i`` (the product first, then the
    transpose it consumes where nothing else reads it, then the epilogue), or None."""
    node = graph.nodes[i]
    if node.op != "matmul" or node.into or i in taken:
        return None
    x, y = node.inputs
    out = node.outputs[0]
    if not (isinstance(x, Value) and isinstance(y, Value)) or len(x.shape) != 2 or len(y.shape) != 2:
        return None
    if x.shape[0] != 1 or not all(isinstance(d, int) for d in (*x.shape, *y.shape)):
        return None
    if x.dtype.name not in ("float32", "float64") or not (x.dtype is y.dtype is out.dtype):
        return None
    k, n = y.shape
    t = producer.get(y.id)
    if n * k < _VECMAT_MIN or t is None or t in taken:
        return None
    tnode = graph.nodes[t]
    if tnode.op != "transpose" or tnode.into or len(tnode.inputs[0].shape) != 2:
        return None
    if {tnode.attrs["dim0"] % 2, tnode.attrs["dim1"] % 2} != {0, 1}:
        return None
    members = [i] + ([t] if uses.get(y.id) == 1 and y.id not in out_ids else [])
    inside = {out.id}
    for j in range(i + 1, len(graph.nodes)):
        nj = graph.nodes[j]
        if j in taken or nj.into or not _fusible(nj) or nj.outputs[0].shape != out.shape:
            break
        vals = [a for a in nj.inputs if isinstance(a, Value)]
        if not any(a.id in inside for a in vals) or not all(
            a.id in inside or math.prod(a.shape) == 1 or tuple(a.shape) in ((n,), (1, n)) for a in vals
        ):
            break
        members.append(j)
        inside.add(nj.outputs[0].id)
    return members


def _render_vecmat(graph, members, w, uses, out_ids, name):
    mm = graph.nodes[members[0]]
    x, prod = mm.inputs[0], mm.outputs[0]
    epilogue = [graph.nodes[j] for j in members[1:] if j > members[0]]
    inside = {prod.id} | {nd.outputs[0].id for nd in epilogue}
    inputs = [x, w]
    for nd in epilogue:
        inputs += [a for a in nd.inputs if isinstance(a, Value) and a.id not in inside and a not in inputs]
    outputs = _written_out([prod] + [nd.outputs[0] for nd in epilogue], epilogue, uses, out_ids)
    local = {prod.id: "acc"}

    def exprs_of(v):
        if v.id in local:
            return local[v.id]
        k = inputs.index(v)
        return f"in{k}[0]" if math.prod(v.shape) == 1 else f"in{k}[j]"

    ct = codegen_c.CTYPES[x.dtype.name]
    body = []
    for nd in epilogue:
        ov = nd.outputs[0]
        body.append(f"{codegen_c.CTYPES[ov.dtype.name]} t{ov.id} = {_node_expr(nd, exprs_of)};")
        local[ov.id] = f"t{ov.id}"
    body += [f"out{k}[j] = {local[v.id]};" for k, v in enumerate(outputs)]
    params = [f"const {codegen_c.CTYPES[v.dtype.name]}* restrict in{k}" for k, v in enumerate(inputs)]
    params += [f"{codegen_c.CTYPES[v.dtype.name]}* restrict out{k}" for k, v in enumerate(outputs)]
    four = "; ".join(f"a{r} += w{r}[i] * xi" for r in range(4))
    lines = [
        f"void {name}({', '.join(params + ['int64_t n', 'int64_t k'])}) {{",
        f"  #pragma omp parallel for schedule(static) if (n * k >= {_VECMAT_PARALLEL}LL)",
        "  for (int64_t jb = 0; jb < n; jb += 4) {",
        f"    {ct} dots[4];",
        "    const int64_t rows = n - jb < 4 ? n - jb : 4;",
        f"    const {ct}* w0 = in1 + jb * k;",
        "    if (rows == 4) {",
        f"      const {ct} *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;",
        f"      {ct} a0 = 0, a1 = 0, a2 = 0, a3 = 0;",
        "      #pragma omp simd reduction(+:a0,a1,a2,a3)",
        f"      for (int64_t i = 0; i < k; i++) {{ {ct} xi = in0[i]; {four}; }}",
        "      dots[0] = a0; dots[1] = a1; dots[2] = a2; dots[3] = a3;",
        "    } else {",
        "      for (int64_t r = 0; r < rows; r++) {",
        f"        {ct} a = 0;",
        "        #pragma omp simd reduction(+:a)",
        "        for (int64_t i = 0; i < k; i++) a += w0[r * k + i] * in0[i];",
        "        dots[r] = a;",
        "      }",
        "    }",
        "    for (int64_t r = 0; r < rows; r++) {",
        "      const int64_t j = jb + r;",
        f"      {ct} acc = dots[r];",
        *[f"      {b}" for b in body],
        "    }",
        "  }",
        "}",
    ]
    n, k = w.shape
    return {"name": name, "source": "\n".join(lines) + "\n", "inputs": inputs, "outputs": outputs,
            "shape": tuple(prod.shape), "sizes": (n, k)}  # fmt: skip


def fuse_and_compile(graph):
    """Fuse ``graph``'s elementwise runs and state updates; returns (kernels for ``build_plan``,
    descriptions for explain)."""
    uses: dict[int, int] = {}
    producer: dict[int, int] = {}
    for i, node in enumerate(graph.nodes):
        for a in node.inputs:
            if isinstance(a, Value):
                uses[a.id] = uses.get(a.id, 0) + 1
        for v in node.outputs:
            producer[v.id] = i
    out_ids = {v.id for v in graph.outputs}
    vecmats, taken = [], set()
    for i in range(len(graph.nodes)):
        members = _vecmat_members(graph, i, producer, uses, out_ids, taken)
        if members is not None:
            vecmats.append(members)
            taken.update(members)
    groups = [
        g for g in _groups(graph, taken) if math.prod(graph.nodes[g[0]].outputs[0].shape) >= MIN_ELEMENTS
    ]
    updates, singles = {}, {}
    for i, node in enumerate(graph.nodes):
        if node.writes and not node.into:
            spec = _update_kernel(node, f"tessera_u{i}")
            if spec is not None:
                updates[i] = spec
        elif i not in taken:
            spec = _op_kernel(node, f"tessera_o{i}")
            if spec is not None:
                singles[i] = spec
    if not groups and not updates and not vecmats and not singles:
        return {}, []
    specs = []
    for vi, members in enumerate(vecmats):
        w = graph.nodes[producer[graph.nodes[members[0]].inputs[1].id]].inputs[0]
        specs.append(_render_vecmat(graph, members, w, uses, out_ids, f"tessera_v{vi}"))
    groups = vecmats + groups
    for gi, members in enumerate(groups[len(vecmats) :]):
        specs.append(_render(graph, members, uses, out_ids, f"tessera_k{gi}"))
    fns = _build([*singles.values(), *specs, *updates.values()])
    kernels, info = {}, []
    for i, spec in singles.items():
        kernels[i] = (_wrapper(fns[spec["name"]], spec), [i], spec["inputs"], spec["outputs"])
        info.append({"name": spec["name"], "ops": [graph.nodes[i].op], "shape": spec["shape"]})
        logs.log("fusion", f"{spec['name']} {list(spec['shape'])}: {graph.nodes[i].op}")
    for i, spec in updates.items():
        kernels[i] = (_update_wrapper(fns[spec["name"]], spec), [i], spec["inputs"], spec["outputs"])
        info.append({"name": spec["name"], "ops": [graph.nodes[i].op], "shape": spec["shape"]})
        logs.log("fusion", f"{spec['name']} {list(spec['shape'])}: {graph.nodes[i].op} (in place)")
    for members, spec in zip(groups, specs):
        fn = _wrapper(fns[spec["name"]], spec)
        kernels[members[0]] = (fn, members, spec["inputs"], spec["outputs"])
        ops = [graph.nodes[i].op for i in sorted(members)]
        info.append({"name": spec["name"], "ops": ops, "shape": spec["shape"]})
        logs.log("fusion", f"{spec['name']} {list(spec['shape'])}: {' -> '.join(ops)}")
    return kernels, info


def _build(specs) -> dict:
    """``{kernel name: C function}`` for ``specs``. Kernels whose code is the same up to their name (the
    update of every parameter of one shape and optimizer, the same activation in several layers) are
    compiled once; the rest is split into two libraries compiled at the same time, one per core."""
    unique, alias = {}, {}
    for spec in specs:
        key = spec["source"].replace(f"void {spec['name']}(", "void (", 1)
        alias[spec["name"]] = unique.setdefault(key, spec)["name"]
    parts = list(unique.values())
    halves = [parts[: (len(parts) + 1) // 2], parts[(len(parts) + 1) // 2 :]] if len(parts) > 2 else [parts]

    def build(part):
        body = "\n".join(spec["source"] for spec in part)
        helpers = [src for name, src in _HELPERS.items() if name + "(" in body]
        return codegen_c.build(codegen_c.PRELUDE + "\n".join(helpers + [body]), [s["name"] for s in part])

    if len(halves) == 1:
        built = build(halves[0])
    else:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:  # the compiler runs in subprocesses
            built = {k: v for fns in pool.map(build, halves) for k, v in fns.items()}
    return {name: built[first] for name, first in alias.items()}


def _written_out(values, nodes, uses, out_ids):
    """Those of a group's ``values`` that are used after the group (more uses than its ``nodes`` make) or
    returned: the ones a kernel writes out; the others stay in registers."""
    internal: dict[int, int] = {}
    for n in nodes:
        for a in n.inputs:
            if isinstance(a, Value):
                internal[a.id] = internal.get(a.id, 0) + 1
    return [v for v in values if v.id in out_ids or uses.get(v.id, 0) > internal.get(v.id, 0)]


def _fusible(node) -> bool:
    """Whether the node has a C expression (an elementwise op with a ``"c"`` lowering for its types)."""
    return _node_expr(node, lambda v: "x") is not None


def _render(graph, members, uses, out_ids, name):
    nodes = [graph.nodes[i] for i in members]
    shape = tuple(nodes[0].outputs[0].shape)
    inside = {v.id for n in nodes for v in n.outputs}
    inputs, in_index = [], {}
    for n in nodes:
        for a in n.inputs:
            if isinstance(a, Value) and a.id not in inside and a.id not in in_index:
                in_index[a.id] = len(inputs)
                inputs.append(a)
    outputs = _written_out([n.outputs[0] for n in nodes], nodes, uses, out_ids)
    # Loop over the output with its dimensions collapsed: size-1 dimensions dropped, and neighbours merged
    # where every input is either full along both or broadcast along both (so the inner loop is long).
    full_ndim = len(shape)
    vshapes = {v.id: (1,) * (full_ndim - len(v.shape)) + tuple(v.shape) for v in inputs}
    dims: list[list[int]] = []
    for d in range(full_ndim):
        if shape[d] == 1:
            continue
        if dims and all((vs[dims[-1][-1]] == 1) == (vs[d] == 1) for vs in vshapes.values()):
            dims[-1].append(d)
        else:
            dims.append([d])
    loop = tuple(math.prod(shape[d] for d in ds) for ds in dims)
    cshape = {
        vid: tuple(n if vs[ds[0]] != 1 else 1 for n, ds in zip(loop, dims)) for vid, vs in vshapes.items()
    }
    ndim = len(loop)
    flat = ndim == 1 and all(cshape[v.id] == loop or math.prod(v.shape) == 1 for v in inputs)

    def load(v):
        k = in_index[v.id]
        if math.prod(v.shape) == 1:
            return f"in{k}[0]"
        if flat:
            return f"in{k}[i]"
        full = [n != 1 for n in cshape[v.id]]
        return f"in{k}[{_index(full)}]"

    body, local = [], {}

    def exprs_of(v):
        if v.id in local:
            return local[v.id]
        return load(v)

    for n in nodes:
        e = _node_expr(n, exprs_of)
        ov = n.outputs[0]
        ct = codegen_c.CTYPES[ov.dtype.name]
        body.append(f"{ct} t{ov.id} = {e};")
        local[ov.id] = f"t{ov.id}"
    out_index = {}
    for k, v in enumerate(outputs):
        out_index[v.id] = k
        target = "i" if flat else _index([True] * ndim)
        body.append(f"out{k}[{target}] = t{v.id};")
    params = [f"const {codegen_c.CTYPES[v.dtype.name]}* restrict in{k}" for k, v in enumerate(inputs)]
    params += [f"{codegen_c.CTYPES[v.dtype.name]}* restrict out{k}" for k, v in enumerate(outputs)]
    params += [f"int64_t n{d}" for d in range(ndim)]
    lines = [f"void {name}({', '.join(params)}) {{"]
    if ndim == 0:
        lines += ["  {"] + [f"    {b}" for b in body] + ["  }"]
    else:
        lines += _loops(ndim, ["i"] if flat else [f"i{d}" for d in range(ndim)], body)
    lines.append("}")
    return {"name": name, "source": "\n".join(lines) + "\n", "inputs": inputs, "outputs": outputs,
            "shape": shape, "sizes": loop}  # fmt: skip


def _index(full) -> str:
    """The flat index into a dense buffer over the collapsed loop dimensions where ``full`` (broadcast,
    stride 0, elsewhere); the sizes are the kernel's ``n{d}`` parameters."""
    terms = []
    for d, f in enumerate(full):
        if f:
            later = [f"n{e}" for e in range(d + 1, len(full)) if full[e]]
            terms.append("*".join([f"i{d}"] + later))
    return " + ".join(terms) or "0"


def _loops(ndim, names, body):
    """The loop nest over ``n0..n{ndim-1}`` (or one loop ``i`` over ``n0`` when ``names`` is ``["i"]``).
    Sizes are parameters, so one kernel serves every size of a graph with symbolic dimensions; the nest is
    written twice, split across the cores only from ``_PARALLEL_ELEMENTS`` elements."""
    total = "*".join(f"n{d}" for d in range(ndim))

    def nest(parallel):
        out = []
        for d, i in enumerate(names):
            inner = d == len(names) - 1
            if d == 0 and parallel:
                out.append("#pragma omp parallel for simd schedule(static)" if inner else
                           "#pragma omp parallel for schedule(static)")  # fmt: skip
            elif inner:
                out.append("  " * d + "#pragma omp simd")
            out.append("  " * d + f"for (int64_t {i} = 0; {i} < n{d}; {i}++) {{")
        out += ["  " * len(names) + b for b in body]
        out += ["  " * d + "}" for d in range(len(names) - 1, -1, -1)]
        return ["    " + x for x in out]

    return (
        [f"  if ({total} >= {_PARALLEL_ELEMENTS}LL) {{"] + nest(True) + ["  } else {"] + nest(False) + ["  }"]
    )


_HUGE = 1 << 21


def _empty_huge(shape, dtype):
    """An uninitialised array on 2 MiB-aligned memory advised for transparent huge pages. Reused heap
    memory is backed by 4 KiB pages, and a loop streaming its output through them runs about twice as long
    (measured: 45 ms against 22 ms for a 64 MiB result)."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    m = mmap.mmap(-1, nbytes + _HUGE)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        m.madvise(mmap.MADV_HUGEPAGE)
    raw = np.frombuffer(m, np.uint8)
    off = (-raw.ctypes.data) % _HUGE
    return raw[off : off + nbytes].view(dtype).reshape(shape)


def _wrapper(cfn, spec):
    """A Python callable ``(*input arrays) -> tuple of output arrays`` around the C function."""
    import ctypes

    sizes = spec["sizes"]
    cfn.argtypes = [ctypes.c_void_p] * (len(spec["inputs"]) + len(spec["outputs"])) + [ctypes.c_int64] * len(
        sizes
    )
    out_specs = [(tuple(spec["shape"]), v.dtype.np) for v in spec["outputs"]]
    big = math.prod(spec["shape"]) * 4 >= 2 * _HUGE and sys.platform.startswith("linux")
    empty = _empty_huge if big else np.empty
    ascontig, refcount = np.ascontiguousarray, sys.getrefcount
    last = [None] * len(out_specs)
    pointers = _pointer_cache(len(spec["inputs"]) + len(out_specs))

    def run(*ins):
        ins = [a if a.flags.c_contiguous else ascontig(a) for a in ins]  # the loops index densely
        # An output buffer of the previous run that nobody holds any more is reused: fresh large buffers
        # cost a page fault per 4 KiB on first touch, which is more than the loop itself.
        outs = []
        for k, (s, d) in enumerate(out_specs):
            prev = last[k]
            if prev is None or refcount(prev) > 3 or any(prev is a for a in ins):
                prev = last[k] = empty(s, d)
            outs.append(prev)
        cfn(*pointers(ins + outs), *sizes)
        return outs

    return run
