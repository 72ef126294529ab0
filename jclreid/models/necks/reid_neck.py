# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from jclreid.registry import MODELS


@MODELS.register_module()
class GeneralizedMeanPooling(nn.Module):
    """GeM pooling with a learnable exponent ``p``.

    Args:
        p (float): Initial exponent (1 = average, large = max).
            Defaults to 3.
        eps (float): Clamp of the input. Defaults to 1e-6.

    Shape:
        (B, C, H, W) -> (B, C).
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.clamp(min=self.eps).pow(self.p).mean((2, 3))
        return pooled.pow(1.0 / self.p)


@MODELS.register_module()
class ReIDNeck(BaseModule):
    """Pooling, optional projection, then a BN neck.

    Args:
        in_channels (int): Channels of the last feature map.
        pooling (str): ``'gem'`` or ``'avg'``. Defaults to ``'gem'``.
        out_channels (int, optional): Projection size (Linear); None keeps
            ``in_channels``. Defaults to None.
        bn (bool): BatchNorm1d after pooling, with a frozen zero bias.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config.

    Shape:
        tuple of (B, C, H, W) (the last is used) -> (B, D).
    """

    def __init__(self,
                 in_channels: int,
                 pooling: str = 'gem',
                 out_channels: Optional[int] = None,
                 bn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pooling == 'gem':
            self.pool = GeneralizedMeanPooling()
        elif pooling == 'avg':
            self.pool = nn.AdaptiveAvgPool2d(1)
        else:
            raise ValueError("ReIDNeck.pooling must be 'gem' or 'avg', got "
                             f'{pooling!r}')
        self.proj = (
            nn.Linear(in_channels, out_channels, bias=False)
            if out_channels else None)
        self.out_channels = out_channels or in_channels
        self.bn = nn.BatchNorm1d(self.out_channels) if bn else None
        if self.bn is not None:
            nn.init.ones_(self.bn.weight)
            nn.init.zeros_(self.bn.bias)
            self.bn.bias.requires_grad_(False)

    def forward(
        self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        x = self.pool(x).flatten(1)
        if self.proj is not None:
            x = self.proj(x)
        if self.bn is not None:
            x = self.bn(x)
        return x
