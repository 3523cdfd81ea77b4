"""Distance layers: ``CosineSimilarity`` and ``PairwiseDistance``."""

__all__: list[str] = []
