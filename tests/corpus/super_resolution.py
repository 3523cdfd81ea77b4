"""Super-resolution in the style of pytorch/examples super_resolution (sub-pixel convolution,
nn.PixelShuffle) on sklearn's digits upsampled 2x; the whole model is saved with torch.save(model) and
loaded back with torch.load(weights_only=False)."""

import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from sklearn.datasets import load_digits


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 32, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(32, 32, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(32, upscale_factor**2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        return self.pixel_shuffle(self.conv3(x))

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
        init.orthogonal_(self.conv3.weight)


torch.manual_seed(0)
hr = torch.tensor(load_digits().images[:512, None] / 16.0, dtype=torch.float32)  # 8x8 targets
lr_img = torch.nn.functional.avg_pool2d(hr, 2)  # 4x4 inputs
model = Net(upscale_factor=2)
criterion = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=3e-3)
losses = []
for _ in range(30):
    for i in range(0, 512, 128):
        optimizer.zero_grad()
        loss = criterion(model(lr_img[i : i + 128]), hr[i : i + 128])
        loss.backward()
        optimizer.step()
    losses.append(loss.item())
torch.save(model, "sr_model.pth")
restored = torch.load("sr_model.pth", weights_only=False)
with torch.no_grad():
    same = bool(np.array_equal(restored(lr_img[:8]).numpy(), model(lr_img[:8]).numpy()))
    psnr = (10 * torch.log10(1 / criterion(model(lr_img), hr))).item()
print(
    "RESULT",
    json.dumps(
        {"losses": losses, "restored_same": same, "restored_type": type(restored).__name__, "psnr": psnr}
    ),
)
