# Copyright (c) jclreid contributors. All rights reserved.
import torch
import torch.nn as nn
import torch.nn.functional as F

from jclreid.registry import MODELS


@MODELS.register_module()
class ClusterContrastLoss(nn.Module):
    """Cluster-level contrastive loss: ``CE(f @ M_c.T / tau, y)``.

    Args:
        temperature (float): ``tau``. Defaults to 0.05.

    Inputs:
        feats (Tensor): (B, D) L2-normalised features.
        centroids (Tensor): (C, D) cluster memory (no gradient).
        labels (Tensor): (B, ) pseudo labels; ``-1`` (outliers) ignored.

    Returns:
        Tensor: scalar loss (0 with a graph when every label is ``-1``).
    """

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError('ClusterContrastLoss.temperature must be > 0, '
                             f'got {temperature}')
        self.temperature = temperature

    def forward(self, feats: torch.Tensor, centroids: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        valid = labels >= 0
        if not bool(valid.any()):
            return feats.sum() * 0
        logits = feats[valid] @ centroids.detach().t().to(feats.dtype)
        return F.cross_entropy(logits / self.temperature, labels[valid])
