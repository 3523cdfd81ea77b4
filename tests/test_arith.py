import numpy as np
import pytest
from opcheck import check_forward, check_grad, check_torch, rand, torch

import tessera as ts

SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3))]


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary(name, sa, sb):
    a, b = rand(*sa), rand(*sb, seed=1, low=0.5, high=2.0)
    np_fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[name]
    fn = getattr(ts, name)
    check_forward(fn, np_fn, a, b)
    check_grad(fn, a, b)
    check_torch(fn, getattr(torch, name) if torch else None, a, b)


def test_seed_snippet():
    x = ts.tensor(2.0, requires_grad=True)
    y = x**2 + 3 * x + 1
    y.backward()
    assert x.grad.item() == 7.0
