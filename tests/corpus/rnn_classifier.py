"""A character-level GRU classifier over padded, packed variable-length sequences (in the style of the
"classifying names" tutorial, with synthetic words from three letter distributions)."""

import json

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

rng = np.random.default_rng(0)
torch.manual_seed(0)
ALPHABET = 20
styles = [rng.dirichlet(np.full(ALPHABET, 0.3)) for _ in range(3)]


def make_word(c):
    return torch.tensor(rng.choice(ALPHABET, size=rng.integers(3, 10), p=styles[c]) + 1)


class CharRNN(nn.Module):
    def __init__(self, hidden=32, classes=3):
        super().__init__()
        self.embedding = nn.Embedding(ALPHABET + 1, 16, padding_idx=0)
        self.rnn = nn.GRU(16, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(self.embedding(padded), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        return self.fc(h[-1])


model = CharRNN()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
criterion = nn.CrossEntropyLoss()
losses = []
for _ in range(150):
    labels = rng.integers(0, 3, 32)
    words = [make_word(c) for c in labels]
    lengths = torch.tensor([len(w) for w in words])
    padded = pad_sequence(words, batch_first=True)
    loss = criterion(model(padded, lengths), torch.from_numpy(labels))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    losses.append(loss.item())
labels = rng.integers(0, 3, 300)
words = [make_word(c) for c in labels]
with torch.no_grad():
    logits = model(pad_sequence(words, batch_first=True), torch.tensor([len(w) for w in words]))
accuracy = (logits.argmax(1).numpy() == labels).mean()
print("RESULT", json.dumps({"losses": losses[::10] + losses[-1:], "accuracy": float(accuracy)}))
