"""The seed's SimpleNN (Linear 10->20, ReLU, Linear 20->1) trained on a synthetic regression, written
exactly as in PyTorch with only the import changed.

Run: python examples/simple_nn.py
"""

import tessera as ts
import tessera.nn as nn
import tessera.optim as optim


class SimpleNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(20, 1)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def main(epochs: int = 200, verbose: bool = True) -> float:
    ts.manual_seed(0)
    x = ts.randn(512, 10)
    true_w = ts.randn(10, 1)
    y = (x @ true_w).tanh() + 0.05 * ts.randn(512, 1)

    model = SimpleNN()
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        if verbose and epoch % 50 == 0:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}")
    with ts.no_grad():
        final = criterion(model(x), y).item()
    if verbose:
        print(f"final training MSE {final:.4f}")
    return final


if __name__ == "__main__":
    main()
