"""Shared bits of the corpus programs: the backend's no-grad context (the one backend-specific call the Keras
torch guides make) and the JSON result line."""

import json

import keras

if keras.backend.backend() == "torch":
    import torch as backend_lib
else:
    import tessera as backend_lib

no_grad = backend_lib.no_grad


def report(**figures) -> None:
    print(json.dumps({k: float(v) for k, v in figures.items()}))
