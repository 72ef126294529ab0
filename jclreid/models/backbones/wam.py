# Copyright (c) jclreid contributors. All rights reserved.
"""WaveBlock attention module (WAM): an attention block and a WaveBlock."""
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
    """Convolutional block attention (Woo et al., ECCV 2018), residual:
    ``x + CBAM(x)``.

    Channel attention: a shared MLP over the spatially max- and
    average-pooled features, summed, then a sigmoid. Spatial attention, as
    in CBAM: the channel-wise max and mean maps, concatenated, through a
    ``kernel_size`` convolution followed by BatchNorm (no ReLU), then a
    sigmoid.

    Args:
        channels (int): Input channels.
        reduction (int): Channel reduction of the MLP. Defaults to 16.
        kernel_size (int): Spatial attention kernel. Defaults to 7.
        spatial_norm (bool): BatchNorm after the spatial convolution, as in
            CBAM. False drops it (an ablation). Defaults to True.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 kernel_size: int = 7,
                 spatial_norm: bool = True) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False))
        self.spatial = nn.Sequential(
            nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2,
                      bias=False),
            nn.BatchNorm2d(1) if spatial_norm else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channel = torch.sigmoid(
            self.mlp(x.amax((2, 3), keepdim=True)) +
            self.mlp(x.mean((2, 3), keepdim=True)))
        y = x * channel
        pooled = torch.cat([y.amax(1, keepdim=True), y.mean(1, keepdim=True)],
                           dim=1)
        y = y * torch.sigmoid(self.spatial(pooled))
        return x + y


@MODELS.register_module()
class NonLocal2d(nn.Module):
    """Non-local block (Wang et al., CVPR 2018), residual.

    ``y_i = 1/C(x) sum_j f(x_i, x_j) g(x_j)`` with ``theta``, ``phi`` and
    ``g`` 1x1 embeddings. ``mode='dot_product'`` (the form Attentive
    WaveBlock uses) takes ``f = theta_i . phi_j`` and ``C(x) = H * W``;
    ``mode='embedded_gaussian'`` a softmax over ``j`` of the same products.
    The output BatchNorm starts with zero weight, so the block starts as
    the identity.

    Args:
        channels (int): Input channels.
        reduction (int): Channel reduction of the embeddings. Defaults to 2.
        mode (str): ``'dot_product'`` or ``'embedded_gaussian'``.
            Defaults to ``'dot_product'``.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    MODES = ('dot_product', 'embedded_gaussian')

    def __init__(self,
                 channels: int,
                 reduction: int = 2,
                 mode: str = 'dot_product') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'NonLocal2d.mode must be one of {self.MODES}, '
                             f'got {mode!r}')
        self.mode = mode
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
        pairwise = theta @ phi  # (B, HW, HW)
        if self.mode == 'dot_product':
            attn = pairwise / (h * w)
        else:
            attn = torch.softmax(pairwise, dim=-1)
        y = (attn @ g).transpose(1, 2).reshape(b, -1, h, w)
        return x + self.out(y)


@MODELS.register_module()
class WAM(nn.Module):
    """WaveBlock attention module: an attention block and a WaveBlock.

    The order follows the module each attention comes from: CBAM
    re-weights the features and the WaveBlock then waves them
    (``wave(cbam(x))``); a non-local block goes after the WaveBlock, as in
    Attentive WaveBlock (``nonlocal(wave(x))``), so that it relates the
    waved positions. ``order`` overrides this.

    Args:
        channels (int): Input channels.
        attention (str, optional): ``'cbam'``, ``'nonlocal'`` or None
            (WaveBlock only). Defaults to ``'cbam'``.
        ratio (float): WaveBlock stripe ratio. Defaults to 0.3.
        factor (float): WaveBlock factor. Defaults to 1.5.
        order (str, optional): ``'attention_first'`` or ``'wave_first'``;
            None picks the attention's own order (see above).
            Defaults to None.
        attention_cfg (dict, optional): Extra arguments of the attention
            block, e.g. ``dict(spatial_norm=False)`` for CBAM.
            Defaults to None.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    ATTENTIONS = ('cbam', 'nonlocal', None)
    ORDERS = ('attention_first', 'wave_first', None)

    def __init__(self,
                 channels: int,
                 attention: Optional[str] = 'cbam',
                 ratio: float = 0.3,
                 factor: float = 1.5,
                 order: Optional[str] = None,
                 attention_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if attention not in self.ATTENTIONS:
            raise ValueError(f'WAM.attention must be one of {self.ATTENTIONS}'
                             f', got {attention!r}')
        if order not in self.ORDERS:
            raise ValueError(f'WAM.order must be one of {self.ORDERS}, got '
                             f'{order!r}')
        attention_cfg = dict(attention_cfg or {})
        if attention == 'cbam':
            self.attention = CBAM(channels, **attention_cfg)
        elif attention == 'nonlocal':
            self.attention = NonLocal2d(channels, **attention_cfg)
        else:
            self.attention = nn.Identity()
        self.wave = WaveBlock(ratio, factor)
        if order is None:
            order = ('wave_first'
                     if attention == 'nonlocal' else 'attention_first')
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.order == 'wave_first':
            return self.attention(self.wave(x))
        return self.wave(self.attention(x))
