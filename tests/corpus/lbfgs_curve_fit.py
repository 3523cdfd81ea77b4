"""Curve fitting with L-BFGS and a strong-Wolfe line search (deterministic: no random initialisation)."""

import json

import numpy as np
import torch

x = torch.linspace(-2, 2, 200, dtype=torch.float64)
y = 1.5 * torch.sin(2.0 * x + 0.3) + 0.2 * x**2

params = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)


def model(p):
    return p[0] * torch.sin(p[1] * x + p[2]) + p[3] * x**2


optimizer = torch.optim.LBFGS([params], lr=1, max_iter=50, history_size=10, line_search_fn="strong_wolfe")
losses = []


def closure():
    optimizer.zero_grad()
    loss = torch.mean((model(params) - y) ** 2)
    loss.backward()
    return loss


for _ in range(5):
    losses.append(optimizer.step(closure).item())
final = torch.mean((model(params) - y) ** 2).item()
print(
    "RESULT",
    json.dumps(
        {
            "losses": losses,
            "final": final,
            "params": params.detach().numpy().tolist(),
            "exact": True,
            "close": bool(np.allclose(params.detach().numpy(), [1.5, 2.0, 0.3, 0.2], atol=1e-3)),
        }
    ),
)
