"""Benchmarks: Tessera next to PyTorch (and other peers where installed), measured in the same run.

Run all cases with ``python -m benchmarks``; ``python -m benchmarks overhead`` runs the cases whose name
contains ``overhead``.
"""
