import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run PyTorch single-threaded in a module: its thread pool makes tiny ops erratic on a busy machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True, scope="session")
def _check_meta_rules():
    """With TESSERA_CHECK_META=<file>, every op application in the run also checks that the op's
    shape/dtype rule (``infer_meta``) predicts the eager result; op names seen are written to <file>."""
    target = os.environ.get("TESSERA_CHECK_META")
    if not target:
        yield
        return
    from tessera.core import dispatch

    seen, mismatches = set(), []

    def check(call):
        out = call.proceed()
        op, args = call.op, call.args
        if call.mutated:
            seen.add(op.name)
            return out
        metas = tuple(
            dispatch.TensorMeta(a.shape, a.dtype) if isinstance(a, dispatch.Tensor) else a for a in args
        )
        try:
            meta = dispatch.infer_meta(op, metas, call.attrs)
        except Exception as e:  # noqa: BLE001
            meta = e
        real = dispatch.TensorMeta(out.shape, out.dtype)
        if meta != real and not op.data_dependent:
            mismatches.append(f"{op.name}: predicted {meta!r}, eager gave {real!r}")
        seen.add(op.name)
        return out

    with dispatch.intercept(check, tracing=False):
        yield
    Path(target).write_text("\n".join(sorted(seen)) + "\n--\n" + "\n".join(mismatches))
