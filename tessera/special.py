"""``ts.special``: PyTorch's special functions (``erf``, ``gammaln``, ``digamma``, ``xlogy``...)."""

__all__: list[str] = []
