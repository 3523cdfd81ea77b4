"""``python -m benchmarks [filter ...]``: print Tessera's time beside PyTorch's for every case."""

from __future__ import annotations

import argparse
import importlib.util
import platform

from . import core
from .harness import run


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
    selected = [c for c in core.cases() if not args.filters or any(f in c.name for f in args.filters)]
    for c in selected:
        c.makers = {k: v for k, v in c.makers.items() if k == "tessera" or k in peers}
    run(selected, peers, min_time=args.min_time)


if __name__ == "__main__":
    main()
