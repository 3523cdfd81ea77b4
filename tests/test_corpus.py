"""The corpus: realistic PyTorch programs (tests/corpus/, written in the style of public tutorials) run
twice from the same source file, once with PyTorch and once with ``import torch`` aliased to Tessera
(``python -m tessera.utils.as_torch``). Each program prints ``RESULT {json}``; both runs must finish and
learn, and their results must agree as far as the seeds allow (the two frameworks draw different random
numbers, so only the deterministic L-BFGS fit is compared closely).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opcheck import needs_torch

CORPUS = Path(__file__).resolve().parent / "corpus"
ROOT = CORPUS.parent.parent
pytestmark = [pytest.mark.slow, needs_torch]


def _run(program: str, framework: str, cwd: Path) -> dict:
    cmd = [sys.executable, str(CORPUS / program)]
    if framework == "tessera":
        cmd[1:1] = ["-m", "tessera.utils.as_torch"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"{program} under {framework} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"{program} under {framework} printed no RESULT line:\n{proc.stdout[-2000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


def _learned(r: dict, factor: float) -> None:
    losses = r["losses"]
    assert all(math.isfinite(v) for v in losses), losses
    assert losses[-1] < factor * losses[0], f"loss went from {losses[0]} to {losses[-1]}"


def _near(a: float, b: float, rel: float) -> None:
    assert abs(a - b) <= rel * max(abs(a), abs(b)), f"{a} vs {b} (relative tolerance {rel})"


def _check_cnn(ts_r, torch_r):
    _learned(ts_r, 0.6)
    assert ts_r["reloaded"]
    assert ts_r["accuracy"] > 0.6 and ts_r["accuracy"] > torch_r["accuracy"] - 0.15


def _check_lbfgs(ts_r, torch_r):
    # deterministic: same start, same algorithm, float64 -> the same optimum and the same path
    assert ts_r["close"] and torch_r["close"]
    for a, b in zip(ts_r["params"], torch_r["params"]):
        assert abs(a - b) < 1e-6, (ts_r["params"], torch_r["params"])
    assert abs(ts_r["losses"][0] - torch_r["losses"][0]) < 1e-9
    assert ts_r["final"] < 1e-8


def _check_vae(ts_r, torch_r):
    _learned(ts_r, 0.8)
    _near(ts_r["losses"][-1], torch_r["losses"][-1], 0.1)
    assert ts_r["sample_shape"] == [16, 64]


def _check_gan(ts_r, torch_r):
    assert all(math.isfinite(v) for v in ts_r["losses"] + ts_r["g_losses"])
    assert abs(ts_r["radius"] - torch_r["radius"]) < 0.6  # samples reach the ring of radius 2


def _check_seq2seq(ts_r, torch_r):
    _learned(ts_r, 0.6)
    _near(ts_r["losses"][-1], torch_r["losses"][-1], 0.3)
    assert ts_r["accuracy"] > torch_r["accuracy"] - 0.2


def _check_gcn(ts_r, torch_r):
    _learned(ts_r, 0.2)
    assert ts_r["accuracy"] > 0.9 and ts_r["dense_check"] < 1e-5


def _check_siamese(ts_r, torch_r):
    _learned(ts_r, 0.6)
    assert ts_r["separated"] > 0.8 and ts_r["separated"] > torch_r["separated"] - 0.1


def _check_super_resolution(ts_r, torch_r):
    _learned(ts_r, 0.5)
    assert ts_r["restored_same"] and ts_r["restored_type"] == "Net"
    _near(ts_r["losses"][-1], torch_r["losses"][-1], 0.35)


def _check_time_series(ts_r, torch_r):
    _learned(ts_r, 0.2)
    assert ts_r["test_loss"] < 0.01 and ts_r["pred_shape"] == [4, 69]


def _check_rnn(ts_r, torch_r):
    _learned(ts_r, 0.5)
    assert ts_r["accuracy"] > 0.8 and ts_r["accuracy"] > torch_r["accuracy"] - 0.1


CHECKS = {
    "cnn_classifier.py": _check_cnn,
    "lbfgs_curve_fit.py": _check_lbfgs,
    "vae.py": _check_vae,
    "gan.py": _check_gan,
    "seq2seq_transformer.py": _check_seq2seq,
    "gcn.py": _check_gcn,
    "siamese.py": _check_siamese,
    "super_resolution.py": _check_super_resolution,
    "time_series.py": _check_time_series,
    "rnn_classifier.py": _check_rnn,
}


def test_every_corpus_program_is_checked():
    assert sorted(p.name for p in CORPUS.glob("*.py")) == sorted(CHECKS)


@pytest.mark.parametrize("program", sorted(CHECKS))
def test_program_runs_unchanged_on_tessera(program, tmp_path):
    (tmp_path / "torch").mkdir()
    (tmp_path / "tessera").mkdir()
    torch_r = _run(program, "torch", tmp_path / "torch")
    ts_r = _run(program, "tessera", tmp_path / "tessera")
    CHECKS[program](ts_r, torch_r)
