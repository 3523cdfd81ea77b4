"""Digit classifier in the style of pytorch/examples mnist (sklearn's 8x8 digits instead of a download)."""

import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1, padding=1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, device, loader, optimizer):
    model.train()
    total = 0.0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(data)
    return total / len(loader.dataset)


def test(model, device, loader):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            loss += F.nll_loss(output, target, reduction="sum").item()
            correct += (
                output.argmax(dim=1, keepdim=True)
                .eq(target.view_as(output.argmax(1, keepdim=True)))
                .sum()
                .item()
            )
    return loss / len(loader.dataset), correct / len(loader.dataset)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1.0)
    args = parser.parse_args()
    torch.manual_seed(1)
    if torch.accelerator.is_available():
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
    torch.backends.cudnn.benchmark = False

    digits = load_digits()
    x = torch.FloatTensor(digits.images[:, None] / 16.0)
    y = torch.LongTensor(digits.target)
    train_set, test_set = TensorDataset(x[:1400], y[:1400]), TensorDataset(x[1400:], y[1400:])
    kwargs = {"num_workers": 0, "pin_memory": torch.cuda.is_available()}
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, **kwargs)
    test_loader = DataLoader(test_set, batch_size=256, **kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for _ in range(args.epochs):
        losses.append(train(model, device, train_loader, optimizer))
        scheduler.step()
    test_loss, accuracy = test(model, device, test_loader)
    torch.save(model.state_dict(), "digits_cnn.pt")
    reloaded = Net()
    reloaded.load_state_dict(torch.load("digits_cnn.pt"))
    same = bool(np.allclose(reloaded.fc2.weight.detach().numpy(), model.fc2.weight.detach().numpy()))
    print(
        "RESULT",
        json.dumps({"losses": losses, "test_loss": test_loss, "accuracy": accuracy, "reloaded": same}),
    )


if __name__ == "__main__":
    main()
