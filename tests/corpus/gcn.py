"""A two-layer graph convolutional network (Kipf & Welling) on a synthetic two-community graph, with a
sparse normalised adjacency (torch.sparse_coo_tensor, torch.spmm)."""

import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(0)
torch.manual_seed(0)
N, C, FEAT = 120, 2, 16
labels_np = np.repeat(np.arange(C), N // C)
edges = [
    (i, j)
    for i in range(N)
    for j in range(i + 1, N)
    if rng.random() < (0.15 if labels_np[i] == labels_np[j] else 0.01)
]
edges += [(j, i) for i, j in edges] + [(i, i) for i in range(N)]
rows, cols = np.array(edges).T
deg = np.bincount(rows, minlength=N).astype(np.float32)
values = 1.0 / np.sqrt(deg[rows] * deg[cols])
adj = torch.sparse_coo_tensor(torch.LongTensor(np.stack([rows, cols])), torch.FloatTensor(values), (N, N))
features = torch.FloatTensor(rng.normal(size=(N, FEAT)) + labels_np[:, None] * 0.3)
labels = torch.LongTensor(labels_np)
idx_train = torch.LongTensor(rng.choice(N, 30, replace=False))
idx_test = torch.LongTensor(np.setdiff1d(np.arange(N), idx_train.numpy()))


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
        self.bias = nn.Parameter(torch.FloatTensor(out_features))
        stdv = 1.0 / np.sqrt(out_features)
        self.weight.data.uniform_(-stdv, stdv)
        self.bias.data.uniform_(-stdv, stdv)

    def forward(self, x, adj):
        return torch.spmm(adj, torch.mm(x, self.weight)) + self.bias


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        return F.log_softmax(self.gc2(x, adj), dim=1)


model = GCN(FEAT, 16, C, 0.5)
optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
losses = []
for _ in range(100):
    model.train()
    optimizer.zero_grad()
    output = model(features, adj)
    loss = F.nll_loss(output[idx_train], labels[idx_train])
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
model.eval()
output = model(features, adj)
accuracy = output[idx_test].max(1)[1].eq(labels[idx_test]).double().mean().item()
dense_check = float((adj.to_dense() @ features - torch.sparse.mm(adj, features)).abs().max())
print(
    "RESULT",
    json.dumps({"losses": losses[::10] + losses[-1:], "accuracy": accuracy, "dense_check": dense_check}),
)
