"""Placeholder: the Keras training loop (``compile``, ``fit``, ``evaluate``, ``predict``...) as a mixin."""


class Trainer:
    """Mixed into ``keras.Model``: compile/fit/evaluate/predict/train_on_batch."""
