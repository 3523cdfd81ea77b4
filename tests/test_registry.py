"""The op registry as a whole: every op is exercised by the suite, and every op's shape/dtype rule
(``infer_meta``) predicts what eager execution produces."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tessera as ts
from tessera.core.dispatch import REGISTRY, TensorMeta, infer_meta

OP_TEST_FILES = [
    "nn/test_normalization.py",
    "nn/test_loss.py",
    "nn/test_embedding.py",
    "nn/test_conv.py",
    "nn/test_pooling.py",
    "nn/test_attention.py",
    "nn/test_transformer.py",
    "nn/test_rnn.py",
    "test_arith.py",
    "test_elementwise.py",
    "test_reduction.py",
    "test_shape.py",
    "test_indexing.py",
    "test_linalg.py",
    "test_autograd.py",
    "test_random.py",
    "test_optim.py",
]


def test_infer_meta_examples():
    m = TensorMeta
    assert infer_meta(REGISTRY["add"], (m((3, 1), ts.int32), m((4,), ts.float16))) == m((3, 4), ts.float16)
    assert infer_meta(REGISTRY["matmul"], (m((2, 3, 4), ts.float32), m((4, 5), ts.float32))) == m(
        (2, 3, 5), ts.float32
    )
    assert infer_meta(REGISTRY["sum"], (m((2, 3), ts.int8),), {"dims": (1,), "keepdim": False}) == m(
        (2,), ts.int64
    )
    with pytest.raises(ts.core.dispatch.OpError, match=r"matmul: shapes \(3, 4\) and \(5, 2\)"):
        infer_meta(REGISTRY["matmul"], (m((3, 4), ts.float32), m((5, 2), ts.float32)))


@pytest.mark.slow
def test_suite_exercises_every_op_and_meta_rules_agree(tmp_path):
    report = tmp_path / "meta.txt"
    here = Path(__file__).parent
    files = [str(here / f) for f in OP_TEST_FILES if (here / f).exists()]
    env = dict(os.environ, TESSERA_CHECK_META=str(report))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    seen, _, mismatches = report.read_text().partition("\n--\n")
    assert not mismatches.strip(), mismatches[:3000]
    unexercised = sorted(set(REGISTRY) - set(seen.split()) - {"test_bad_square"})
    assert not unexercised, f"ops never run by the op tests: {unexercised}"
