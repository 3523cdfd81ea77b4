"""Core: dtypes, devices, the ``Tensor`` class, tensor factories, random generators and the op dispatcher.

Nothing here imports from the higher layers (nn, optim, keras...).
"""
