# Copyright (c) jclreid contributors. All rights reserved.
import torch

from jclreid.registry import MODELS
from .base_memory import BaseMemory


@MODELS.register_module()
class InstanceMemory(BaseMemory):
    """Memory of one L2-normalised feature per training sample, (N, D).

    Filled by :meth:`reset` with the features of the whole train set at each
    refresh; after each step ``M[i] <- normalise(m * M[i] + (1 - m) * f_i)``.
    Not saved in checkpoints.

    Args:
        feat_dim (int): Feature size D.
        momentum (float): ``m``. Defaults to 0.2.
    """

    @property
    def num_samples(self) -> int:
        return self.features.shape[0]

    def update(self, features: torch.Tensor, indices: torch.Tensor) -> None:
        """Momentum update of the slots ``indices`` (B, ) from (B, D)
        features. A repeated index is updated once per occurrence, in
        order. The buffer is replaced, not modified in place."""
        super().update(features, indices)

    def _update(self, memory: torch.Tensor, features: torch.Tensor,
                indices: torch.Tensor) -> torch.Tensor:
        indices = indices.long()
        if torch.unique(indices).numel() == indices.numel():
            memory[indices] = self._blend(memory[indices], features, dim=1)
        else:
            for i, x in zip(indices.tolist(), features):
                memory[i] = self._blend(memory[i], x, dim=0)
        return memory
