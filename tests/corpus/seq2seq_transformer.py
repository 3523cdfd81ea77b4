"""A seq2seq nn.Transformer learning to reverse digit sequences (subclassing nn.Transformer, positional
encoding buffer, square subsequent masks, key padding masks, LambdaLR warm-up, greedy decoding)."""

import json
import math

import torch
import torch.nn as nn

torch.manual_seed(0)
PAD, BOS, VOCAB, LEN = 0, 1, 12, 6


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return self.dropout(x + self.pe[: x.size(0)])


class Seq2Seq(nn.Transformer):
    def __init__(self, d_model=32):
        super().__init__(
            d_model=d_model,
            nhead=4,
            num_encoder_layers=2,
            num_decoder_layers=2,
            dim_feedforward=64,
            dropout=0.0,
        )
        self.embed = nn.Embedding(VOCAB, d_model, padding_idx=PAD)
        self.pos = PositionalEncoding(d_model, dropout=0.0)
        self.out = nn.Linear(d_model, VOCAB)
        self.d_model = d_model

    def forward(self, src, tgt):
        tgt_mask = self.generate_square_subsequent_mask(tgt.size(0))
        s = self.pos(self.embed(src) * math.sqrt(self.d_model))
        t = self.pos(self.embed(tgt) * math.sqrt(self.d_model))
        h = super().forward(
            s,
            t,
            tgt_mask=tgt_mask,
            src_key_padding_mask=(src == PAD).T,
            tgt_key_padding_mask=(tgt == PAD).T,
            memory_key_padding_mask=(src == PAD).T,
        )
        return self.out(h)


def batch(n):
    src = torch.randint(2, VOCAB, (LEN, n))
    tgt = torch.flip(src, [0])
    tgt_in = torch.cat([torch.full((1, n), BOS), tgt[:-1]], dim=0)
    return src, tgt_in, tgt


model = Seq2Seq()
criterion = nn.CrossEntropyLoss(ignore_index=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 20))
losses = []
for _ in range(150):
    src, tgt_in, tgt = batch(64)
    logits = model(src, tgt_in)
    loss = criterion(logits.reshape(-1, VOCAB), tgt.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())

model.eval()
src, _, tgt = batch(32)
with torch.no_grad():
    ys = torch.full((1, 32), BOS)
    for _ in range(LEN):
        nxt = model(src, ys)[-1].argmax(-1, keepdim=True).T
        ys = torch.cat([ys, nxt], dim=0)
accuracy = (ys[1:] == tgt).float().mean().item()
print("RESULT", json.dumps({"losses": losses[::10] + losses[-1:], "accuracy": accuracy}))
