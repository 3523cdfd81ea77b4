"""Random number generation: ``ts.Generator`` objects and the global default generator (``manual_seed``)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "Generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "default_generator",
    "get_rng_state",
    "set_rng_state",
]


class Generator:
    """A seedable source of random numbers, accepted by ``rand``, ``randn``, ``randint``, data loaders...

    Example:
        >>> g = ts.Generator().manual_seed(3)
        >>> a = ts.rand(2, generator=g)
    """

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        self.device = device

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to the state given by ``seed``; returns ``self``."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        self._seed = int(seed) % (2**64)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Re-seed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (restorable with ``set_state``)."""
        import json

        from .tensor import Tensor

        state = json.dumps(self._rng.bit_generator.state).encode()
        return Tensor._wrap(np.frombuffer(state, dtype=np.uint8).copy())

    def set_state(self, state) -> Generator:
        import json

        self._rng.bit_generator.state = json.loads(bytes(np.asarray(state, dtype=np.uint8)).decode())
        return self


default_generator = Generator().manual_seed(67280421310721)


def manual_seed(seed: int) -> Generator:
    """Seed the global generator: ``ts.manual_seed(0)`` makes ``ts.randn`` & co. reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the global one when None)."""
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a ts.Generator, got {type(generator).__name__}")
    return generator._rng
