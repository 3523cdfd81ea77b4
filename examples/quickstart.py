"""Tessera quickstart: tensors, define-by-run autograd, GradientTape, and a tiny model fitted by hand.

Run: python examples/quickstart.py
"""

import tessera as ts

# Define-by-run autograd, exactly as in PyTorch.
x = ts.tensor(2.0, requires_grad=True)
y = x**2 + 3 * x + 1
y.backward()
print(f"d/dx (x^2 + 3x + 1) at x=2: {x.grad.item()}")

# The same derivative, TensorFlow style.
x = ts.tensor(2.0)
with ts.GradientTape() as tape:
    tape.watch(x)
    y = x**2 + 3 * x + 1
print(f"GradientTape gives:          {tape.gradient(y, x).item()}")

# Fit y = 3x - 1 + noise with plain gradient descent; Python control flow works inside the loop.
ts.manual_seed(0)
inputs = ts.randn(256, 1)
targets = 3 * inputs - 1 + 0.1 * ts.randn(256, 1)
w = ts.zeros(1, 1, requires_grad=True)
b = ts.zeros(1, requires_grad=True)
for step in range(200):
    pred = inputs @ w + b
    loss = ((pred - targets) ** 2).mean()
    loss.backward()
    with ts.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
    w.grad = b.grad = None
    if step % 50 == 0:
        print(f"step {step:3d}  loss {loss.item():.4f}")
print(f"learned w={w.item():.3f} b={b.item():.3f} (true 3, -1); final loss {loss.item():.4f}")
