"""A small GAN learning a 2-D Gaussian mixture (DCGAN-style training loop with BCELoss and two Adams)."""

import json
import math

import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(0)


def real_batch(n):
    angles = torch.randint(0, 8, (n,)).float() * (2 * math.pi / 8)
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * 2
    return centers + 0.05 * torch.randn(n, 2)


netG = nn.Sequential(nn.Linear(4, 64), nn.ReLU(True), nn.Linear(64, 64), nn.ReLU(True), nn.Linear(64, 2))
netD = nn.Sequential(
    nn.Linear(2, 64),
    nn.LeakyReLU(0.2, inplace=True),
    nn.Linear(64, 64),
    nn.LeakyReLU(0.2, inplace=True),
    nn.Linear(64, 1),
    nn.Sigmoid(),
)


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.2)
        m.bias.data.fill_(0)


netG.apply(weights_init)
netD.apply(weights_init)
criterion = nn.BCELoss()
optimizerD = optim.Adam(netD.parameters(), lr=1e-3, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=1e-3, betas=(0.5, 0.999))
real_label, fake_label = 1.0, 0.0
d_losses, g_losses = [], []
for _ in range(300):
    netD.zero_grad()
    real = real_batch(128)
    label = torch.full((128,), real_label, dtype=torch.float)
    errD_real = criterion(netD(real).view(-1), label)
    errD_real.backward()
    noise = torch.randn(128, 4)
    fake = netG(noise)
    label.fill_(fake_label)
    errD_fake = criterion(netD(fake.detach()).view(-1), label)
    errD_fake.backward()
    optimizerD.step()
    netG.zero_grad()
    label.fill_(real_label)
    errG = criterion(netD(fake).view(-1), label)
    errG.backward()
    optimizerG.step()
    d_losses.append((errD_real + errD_fake).item())
    g_losses.append(errG.item())
with torch.no_grad():
    samples = netG(torch.randn(2000, 4))
radius = samples.norm(dim=1).mean().item()
print("RESULT", json.dumps({"losses": d_losses[-50:], "g_losses": g_losses[-50:], "radius": radius}))
