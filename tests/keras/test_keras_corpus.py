"""The corpus of Keras 3 programs in tests/keras/corpus (written in the style of the official guides): each
runs unchanged under Tessera (``keras`` aliased to ``tessera.keras``) and, where installed, under real Keras 3
with the torch backend. Every program checks its own results (losses fall, accuracies reached, configs
round-trip) and prints its final figures as one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
PROGRAMS = sorted(p.name for p in CORPUS.glob("*.py") if not p.name.startswith("_"))


def run_program(backend: str, program: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=os.pathsep.join([str(CORPUS), *sys.path]))
    return subprocess.run(
        [sys.executable, "_run.py", backend, program],
        cwd=CORPUS, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def figures(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("program", PROGRAMS)
def test_corpus_program_runs_under_tessera(program):
    out = figures(run_program("tessera", program))
    assert out and all(v == v for v in out.values())  # each program asserts its own targets; no NaN here


@pytest.mark.slow
@pytest.mark.parametrize("program", PROGRAMS)
def test_corpus_program_runs_under_keras(real_keras, program):
    result = run_program("keras", program)
    if result.returncode != 0 and "requires TensorFlow" in result.stderr:
        pytest.skip(f"{program}: this Keras layer needs TensorFlow on the torch backend")
    figures(result)


def test_corpus_has_the_guide_patterns():
    assert {
        "gan_train_step.py", "subclassed_compute_loss.py", "text_classifier.py", "functional_symbolic.py",
        "seq2seq_addition.py", "conv_autoencoder.py",
    } <= set(PROGRAMS)  # fmt: skip
