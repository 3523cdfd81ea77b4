"""``ts.onnx``: ONNX export and import (the exporter is built by a later issue)."""

__all__: list[str] = []
