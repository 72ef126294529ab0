# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional

import torch

from jclreid.registry import MODELS
from .base_memory import BaseMemory


@MODELS.register_module()
class ClusterMemory(BaseMemory):
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
    ROWS = ('C', 'centroids')

    def __init__(self,
                 feat_dim: int,
                 momentum: float = 0.2,
                 mode: str = 'hard') -> None:
        if mode not in self.MODES:
            raise ValueError(f'ClusterMemory.mode must be one of {self.MODES}'
                             f', got {mode!r}')
        super().__init__(feat_dim, momentum)
        self.mode = mode

    @property
    def num_clusters(self) -> int:
        return self.features.shape[0]

    def reset(self, centroids: torch.Tensor) -> None:
        """Replace the memory with (C, D) centroids (normalised here)."""
        super().reset(centroids)

    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Momentum update from (B, D) features and (B, ) labels; labels
        < 0 are ignored. The buffer is replaced, not modified in place, so
        a loss computed from the old memory keeps its autograd graph."""
        super().update(features, labels)

    def _update(self, memory: torch.Tensor, features: torch.Tensor,
                labels: torch.Tensor) -> Optional[torch.Tensor]:
        valid = labels >= 0
        features, labels = features[valid], labels[valid]
        if labels.numel() == 0:
            return None
        for label in torch.unique(labels).tolist():
            feats = features[labels == label]
            if self.mode == 'sample':
                for x in feats:
                    memory[label] = self._blend(memory[label], x, dim=0)
                continue
            if self.mode == 'hard':
                sims = feats @ memory[label]
                x = feats[torch.argmin(sims)]
            else:
                x = feats.mean(0)
            memory[label] = self._blend(memory[label], x, dim=0)
        return memory
