"""``keras.utils``: data utilities (``to_categorical``, ``pad_sequences``, ``PyDataset``, dataset builders),
``set_random_seed``, ``plot_model`` and ``get_file``."""

from __future__ import annotations

__all__: list[str] = []
