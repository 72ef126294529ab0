# Copyright (c) jclreid contributors. All rights reserved.
import torch
import torch.nn as nn
import torch.nn.functional as F

from jclreid.registry import MODELS


@MODELS.register_module()
class InstanceMemory(nn.Module):
    """Memory of one L2-normalised feature per training sample, (N, D).

    Filled by :meth:`reset` with the features of the whole train set at each
    refresh; after each step ``M[i] <- normalise(m * M[i] + (1 - m) * f_i)``.
    Not saved in checkpoints.

    Args:
        feat_dim (int): Feature size D.
        momentum (float): ``m``. Defaults to 0.2.
    """

    def __init__(self, feat_dim: int, momentum: float = 0.2) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(
                f'InstanceMemory.momentum must be in [0, 1], got {momentum}')
        self.feat_dim = feat_dim
        self.momentum = momentum
        self.register_buffer(
            'features', torch.zeros(0, feat_dim), persistent=False)

    @property
    def num_samples(self) -> int:
        return self.features.shape[0]

    @torch.no_grad()
    def reset(self, features: torch.Tensor) -> None:
        """Replace the memory with (N, D) features (normalised here)."""
        if features.dim() != 2 or features.shape[1] != self.feat_dim:
            raise ValueError(f'InstanceMemory.reset expects (N, '
                             f'{self.feat_dim}) features, got '
                             f'{tuple(features.shape)}')
        self.features = F.normalize(
            features.detach().float(), dim=1).to(self.features.device)

    @torch.no_grad()
    def update(self, features: torch.Tensor, indices: torch.Tensor) -> None:
        """Momentum update of the slots ``indices`` (B, ) from (B, D)
        features. A repeated index is updated once per occurrence, in
        order. The buffer is replaced, not modified in place."""
        features = F.normalize(features.detach().float(), dim=1)
        indices = indices.to(features.device).long()
        memory = self.features.clone()
        m = self.momentum
        unique = torch.unique(indices)
        if unique.numel() == indices.numel():
            memory[indices] = F.normalize(
                m * memory[indices] + (1 - m) * features, dim=1)
        else:
            for i, x in zip(indices.tolist(), features):
                memory[i] = F.normalize(m * memory[i] + (1 - m) * x, dim=0)
        self.features = memory
