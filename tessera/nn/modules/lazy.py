"""Lazy modules, whose parameter shapes are inferred from the first input, and ``UninitializedParameter``."""

__all__: list[str] = []
