"""``Fold`` and ``Unfold``: sliding local blocks to columns and back."""

__all__: list[str] = []
