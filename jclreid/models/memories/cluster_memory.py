# Copyright (c) jclreid contributors. All rights reserved.
import torch
import torch.nn as nn
import torch.nn.functional as F

from jclreid.registry import MODELS


@MODELS.register_module()
class ClusterMemory(nn.Module):
    """Memory of cluster centroids, (C, D), L2-normalised.

    Filled by :meth:`reset` at every pseudo-label refresh and updated with
    momentum after each step. Not saved in checkpoints (rebuilt by the
    refresh, also after resume). Updates come from features gathered
    across ranks by the head, so every rank holds the same memory.

    Args:
        feat_dim (int): Feature size D.
        momentum (float): ``m`` in ``c <- normalise(m * c + (1 - m) * x)``.
            Defaults to 0.2.
        mode (str): Which batch feature updates a centroid: ``'hard'``
            (the one least similar to the centroid), ``'mean'`` (the batch
            mean of the label) or ``'sample'`` (every sample in turn).
            Defaults to ``'hard'``.
    """

    MODES = ('hard', 'mean', 'sample')

    def __init__(self,
                 feat_dim: int,
                 momentum: float = 0.2,
                 mode: str = 'hard') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'ClusterMemory.mode must be one of {self.MODES}'
                             f', got {mode!r}')
        if not 0 <= momentum <= 1:
            raise ValueError(
                f'ClusterMemory.momentum must be in [0, 1], got {momentum}')
        self.feat_dim = feat_dim
        self.momentum = momentum
        self.mode = mode
        self.register_buffer(
            'features', torch.zeros(0, feat_dim), persistent=False)

    @property
    def num_clusters(self) -> int:
        return self.features.shape[0]

    @torch.no_grad()
    def reset(self, centroids: torch.Tensor) -> None:
        """Replace the memory with (C, D) centroids (normalised here)."""
        if centroids.dim() != 2 or centroids.shape[1] != self.feat_dim:
            raise ValueError(f'ClusterMemory.reset expects (C, '
                             f'{self.feat_dim}) centroids, got '
                             f'{tuple(centroids.shape)}')
        self.features = F.normalize(
            centroids.detach().float(), dim=1).to(self.features.device)

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Momentum update from (B, D) features and (B, ) labels; labels
        < 0 are ignored. The buffer is replaced, not modified in place, so
        a loss computed from the old memory keeps its autograd graph."""
        features = F.normalize(features.detach().float(), dim=1)
        labels = labels.to(features.device)
        valid = labels >= 0
        features, labels = features[valid], labels[valid]
        if labels.numel() == 0:
            return
        memory = self.features.clone()
        m = self.momentum
        for label in torch.unique(labels).tolist():
            feats = features[labels == label]
            if self.mode == 'sample':
                for x in feats:
                    memory[label] = F.normalize(
                        m * memory[label] + (1 - m) * x, dim=0)
                continue
            if self.mode == 'hard':
                sims = feats @ memory[label]
                x = feats[torch.argmin(sims)]
            else:
                x = feats.mean(0)
            memory[label] = F.normalize(m * memory[label] + (1 - m) * x, dim=0)
        self.features = memory
