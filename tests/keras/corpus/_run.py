"""Run one corpus program under Tessera or under real Keras 3 (torch backend), from the same source file.

    python _run.py tessera gan_train_step.py
    python _run.py keras gan_train_step.py

Under Tessera, ``keras`` and its submodules are aliased to ``tessera.keras`` (the only change a user makes is
the import); each program checks its own results and prints one JSON line of final figures."""

from __future__ import annotations

import importlib
import os
import runpy
import sys


def alias_keras_to_tessera() -> None:
    import tessera.keras as tk

    sys.modules["keras"] = tk
    for name in tk.__all__:
        value = getattr(tk, name)
        if type(value).__name__ == "module":
            sys.modules[f"keras.{name}"] = value
    for sub in ("ops.numpy", "ops.nn", "ops.image", "ops.linalg", "layers"):
        sys.modules[f"keras.{sub}"] = importlib.import_module(f"tessera.keras.{sub}")


if __name__ == "__main__":
    backend, program = sys.argv[1], sys.argv[2]
    if backend == "tessera":
        alias_keras_to_tessera()
    else:
        os.environ["KERAS_BACKEND"] = "torch"
    runpy.run_path(program, run_name="__main__")
