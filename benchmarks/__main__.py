"""``python -m benchmarks [filter ...]``: print Tessera's time beside PyTorch's for every case."""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys

from . import compile as compile_cases
from . import core, nn
from .harness import run


def import_time(module: str, repeats: int = 5) -> float:
    """Median wall time of ``import module`` in a fresh interpreter (bytecode cached by a first run)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    runs = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
        for _ in range(repeats)
    ]
    return statistics.median(runs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("filters", nargs="*", help="only run cases whose name contains one of these")
    parser.add_argument(
        "--min-time", type=float, default=0.3, help="seconds of timing per case and framework"
    )
    args = parser.parse_args(argv)
    peers = [p for p in ("torch",) if importlib.util.find_spec(p) is not None]
    if peers:
        import torch

        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; ", end="")
    import numpy

    print(f"NumPy {numpy.__version__}; Python {platform.python_version()}; medians after warm-up")
    every = core.cases() + nn.cases() + compile_cases.cases()
    selected = [c for c in every if not args.filters or any(f in c.name for f in args.filters)]
    for c in selected:
        c.makers = {k: v for k, v in c.makers.items() if k.split(".")[0] in ["tessera", *peers]}
    if not args.filters or any(f in "import" for f in args.filters):
        line = f"{'import time':46s} {import_time('tessera') * 1e3:9.1f} ms"
        for p in peers:
            line += f" {import_time(p) * 1e3:9.1f} ms"
        print(line + "   (target: tessera < 300 ms)")
    run(selected, peers, min_time=args.min_time)
    if not args.filters or any(f in "export inference" for f in args.filters):
        from . import export

        print()
        export.run(min_time=args.min_time)


if __name__ == "__main__":
    main()
