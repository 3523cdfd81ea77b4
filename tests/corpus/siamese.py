"""A Siamese network on sklearn's digits: a shared embedding net trained with a triplet margin loss and a
contrastive pair loss, evaluated by pairwise distances."""

import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

torch.manual_seed(0)
rng = np.random.default_rng(0)
digits = load_digits()
x_all = torch.tensor(digits.images[:, None] / 16.0, dtype=torch.float32)
y_all = digits.target


class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.PReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.PReLU(),
            nn.MaxPool2d(2),
        )
        self.fc = nn.Sequential(nn.Linear(16 * 2 * 2, 32), nn.PReLU(), nn.Linear(32, 8))

    def forward(self, x):
        return self.fc(self.convnet(x).view(x.size(0), -1))


def triplets(n):
    a = rng.integers(0, len(y_all), n)
    pos = np.array([rng.choice(np.flatnonzero(y_all == y_all[i])) for i in a])
    neg = np.array([rng.choice(np.flatnonzero(y_all != y_all[i])) for i in a])
    return x_all[a], x_all[pos], x_all[neg]


net = EmbeddingNet()
triplet = nn.TripletMarginLoss(margin=1.0, p=2)
optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3)
losses = []
for _ in range(120):
    anchor, positive, negative = triplets(64)
    ea, ep, en = net(anchor), net(positive), net(negative)
    d_pos = F.pairwise_distance(ea, ep)
    d_neg = F.pairwise_distance(ea, en)
    contrastive = (d_pos.pow(2) + F.relu(1.0 - d_neg).pow(2)).mean()
    loss = triplet(ea, ep, en) + 0.1 * contrastive
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
net.eval()
with torch.no_grad():
    anchor, positive, negative = triplets(300)
    ea, ep, en = net(anchor), net(positive), net(negative)
    separated = (F.pairwise_distance(ea, ep) < F.pairwise_distance(ea, en)).float().mean().item()
    cos = F.cosine_similarity(ea, ep).mean().item()
print("RESULT", json.dumps({"losses": losses[::10] + losses[-1:], "separated": separated, "cos": cos}))
