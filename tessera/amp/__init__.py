"""``ts.amp``: automatic mixed precision (``autocast``, ``GradScaler``)."""

__all__: list[str] = []
