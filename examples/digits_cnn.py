"""Train a small CNN on scikit-learn's handwritten digits (real UCI data shipped inside scikit-learn) with
an ordinary PyTorch-style loop, and report accuracy on a held-out 20 % test split.

Run: python examples/digits_cnn.py        (needs scikit-learn: pip install scikit-learn)
"""

from __future__ import annotations

import time

import numpy as np

import tessera as ts
import tessera.nn as nn
import tessera.nn.functional as F
from tessera.data import DataLoader, TensorDataset, random_split


class DigitsCNN(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, num_classes)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def load_digits_dataset() -> TensorDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8), scaled to [0, 1]
    return TensorDataset(ts.tensor(images), ts.tensor(digits.target.astype(np.int64)))


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with ts.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
            total += y.numel()
    return correct / total


def main(epochs: int = 15, seed: int = 0, verbose: bool = True) -> float:
    start = time.perf_counter()
    ts.manual_seed(seed)
    dataset = load_digits_dataset()
    n_test = len(dataset) // 5
    train_set, test_set = random_split(
        dataset, [len(dataset) - n_test, n_test], generator=ts.Generator().manual_seed(seed)
    )
    train_loader = DataLoader(
        train_set, batch_size=64, shuffle=True, generator=ts.Generator().manual_seed(seed)
    )
    test_loader = DataLoader(test_set, batch_size=256)

    model = DigitsCNN()
    optimizer = ts.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = ts.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        model.train()
        total_loss = 0.0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * y.numel()
        scheduler.step()
        if verbose:
            acc = evaluate(model, test_loader)
            print(f"epoch {epoch + 1:2d}  loss {total_loss / len(train_set):.4f}  test accuracy {acc:.4f}")
    accuracy = evaluate(model, test_loader)
    if verbose:
        print(
            f"test accuracy {accuracy:.2%} on {n_test} held-out digits in {time.perf_counter() - start:.1f} s"
        )
    return accuracy


if __name__ == "__main__":
    main()
