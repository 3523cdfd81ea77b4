"""Padding layers: constant, zero, reflection, replication and circular, in 1-D, 2-D and 3-D."""

__all__: list[str] = []
