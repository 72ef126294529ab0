# Copyright (c) jclreid contributors. All rights reserved.
"""WaveBlock attention module (WAM): attention followed by a WaveBlock."""
from typing import Optional

import torch
import torch.nn as nn

from jclreid.registry import MODELS


@MODELS.register_module()
class WaveBlock(nn.Module):
    """Feature waving along the height axis (training only).

    One random horizontal stripe of ``round(ratio * H)`` rows is kept and
    everything outside it is multiplied by ``factor``. The stripe is drawn
    once per forward pass (one stripe for the whole batch) with torch's RNG,
    so ``torch.manual_seed`` makes it reproducible. In eval mode the block
    is the identity.

    Args:
        ratio (float): Height fraction of the kept stripe. Defaults to 0.3.
        factor (float): Multiplier outside the stripe. Defaults to 1.5.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, ratio: float = 0.3, factor: float = 1.5) -> None:
        super().__init__()
        if not 0 <= ratio <= 1:
            raise ValueError(f'WaveBlock.ratio must be in [0, 1], got {ratio}')
        self.ratio = ratio
        self.factor = factor
        self.last_stripe: Optional[tuple] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        h = x.shape[2]
        rows = int(round(self.ratio * h))
        start = int(torch.randint(0, h - rows + 1, (1, )).item())
        self.last_stripe = (start, start + rows)
        mask = x.new_full((1, 1, h, 1), self.factor)
        mask[:, :, start:start + rows] = 1.0
        return x * mask

    def extra_repr(self) -> str:
        return f'ratio={self.ratio}, factor={self.factor}'


@MODELS.register_module()
class CBAM(nn.Module):
    """Convolutional block attention (channel then spatial), residual:
    ``x + CBAM(x)``.

    Args:
        channels (int): Input channels.
        reduction (int): Channel reduction of the MLP. Defaults to 16.
        kernel_size (int): Spatial attention kernel. Defaults to 7.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 kernel_size: int = 7) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False))
        self.spatial = nn.Conv2d(
            2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channel = torch.sigmoid(
            self.mlp(x.mean((2, 3), keepdim=True)) +
            self.mlp(x.amax((2, 3), keepdim=True)))
        y = x * channel
        pooled = torch.cat([y.mean(1, keepdim=True), y.amax(1, keepdim=True)],
                           dim=1)
        y = y * torch.sigmoid(self.spatial(pooled))
        return x + y


@MODELS.register_module()
class NonLocal2d(nn.Module):
    """Embedded-Gaussian non-local block (Wang et al., 2018), residual.

    The output BatchNorm starts with zero weight, so the block starts as
    the identity.

    Args:
        channels (int): Input channels.
        reduction (int): Channel reduction of the embeddings. Defaults to 2.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        inter = max(channels // reduction, 1)
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Conv2d(channels, inter, 1)
        self.g = nn.Conv2d(channels, inter, 1)
        self.out = nn.Sequential(
            nn.Conv2d(inter, channels, 1), nn.BatchNorm2d(channels))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)  # (B, HW, C')
        phi = self.phi(x).flatten(2)  # (B, C', HW)
        g = self.g(x).flatten(2).transpose(1, 2)  # (B, HW, C')
        attn = torch.softmax(theta @ phi, dim=-1)
        y = (attn @ g).transpose(1, 2).reshape(b, -1, h, w)
        return x + self.out(y)


@MODELS.register_module()
class WAM(nn.Module):
    """WaveBlock attention module: attention, then WaveBlock.

    Args:
        channels (int): Input channels.
        attention (str, optional): ``'cbam'``, ``'nonlocal'`` or None.
            Defaults to ``'cbam'``.
        ratio (float): WaveBlock stripe ratio. Defaults to 0.3.
        factor (float): WaveBlock factor. Defaults to 1.5.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    ATTENTIONS = ('cbam', 'nonlocal', None)

    def __init__(self,
                 channels: int,
                 attention: Optional[str] = 'cbam',
                 ratio: float = 0.3,
                 factor: float = 1.5) -> None:
        super().__init__()
        if attention not in self.ATTENTIONS:
            raise ValueError(f'WAM.attention must be one of {self.ATTENTIONS}'
                             f', got {attention!r}')
        if attention == 'cbam':
            self.attention = CBAM(channels)
        elif attention == 'nonlocal':
            self.attention = NonLocal2d(channels)
        else:
            self.attention = nn.Identity()
        self.wave = WaveBlock(ratio, factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wave(self.attention(x))
