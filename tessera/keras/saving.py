"""Placeholder: ``model.save(path)`` / ``keras.models.load_model(path)``."""


def save_model(model, filepath, overwrite=True):
    raise NotImplementedError


def load_model(filepath, custom_objects=None, compile=True):
    raise NotImplementedError
