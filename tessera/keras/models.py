"""Placeholder: ``Sequential``, ``Model`` (functional and subclassed), ``model_from_config``, ``load_model``."""

from .saving import load_model  # noqa: F401


class Model:
    pass


class Sequential(Model):
    pass
