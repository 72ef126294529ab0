# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class BaseMemory(nn.Module):
    """A (rows, D) memory of L2-normalised features, updated with momentum.

    Holds the ``features`` buffer (not saved in checkpoints: it is rebuilt
    at every pseudo-label refresh), :meth:`reset` and the update template;
    subclasses say which rows a batch updates, in :meth:`_update`.

    Args:
        feat_dim (int): Feature size D.
        momentum (float): ``m`` in ``row <- normalise(m * row + (1 - m) *
            x)``. Defaults to 0.2.
    """

    #: Symbol and name of the rows, for error messages.
    ROWS = ('N', 'features')

    def __init__(self, feat_dim: int, momentum: float = 0.2) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f'{type(self).__name__}.momentum must be in '
                             f'[0, 1], got {momentum}')
        self.feat_dim = feat_dim
        self.momentum = momentum
        self.register_buffer(
            'features', torch.zeros(0, feat_dim), persistent=False)

    @torch.no_grad()
    def reset(self, features: torch.Tensor) -> None:
        """Replace the memory with (rows, D) features (normalised here)."""
        if features.dim() != 2 or features.shape[1] != self.feat_dim:
            symbol, name = self.ROWS
            raise ValueError(f'{type(self).__name__}.reset expects ({symbol}, '
                             f'{self.feat_dim}) {name}, got '
                             f'{tuple(features.shape)}')
        self.features = F.normalize(
            features.detach().float(), dim=1).to(self.features.device)

    @torch.no_grad()
    def update(self, features: torch.Tensor, targets: torch.Tensor) -> None:
        """Momentum update from (B, D) features (normalised here) and (B, )
        targets that say which rows they update. The buffer is replaced,
        not modified in place, so a loss computed from the old memory keeps
        its autograd graph."""
        features = F.normalize(features.detach().float(), dim=1)
        targets = targets.to(features.device)
        memory = self._update(self.features.clone(), features, targets)
        if memory is not None:
            self.features = memory

    def _update(self, memory: torch.Tensor, features: torch.Tensor,
                targets: torch.Tensor) -> Optional[torch.Tensor]:
        """Update the copy ``memory`` from normalised ``features`` and
        ``targets`` (on their device) and return it, or None to leave the
        memory as it is."""
        raise NotImplementedError

    def _blend(self, rows: torch.Tensor, x: torch.Tensor,
               dim: int) -> torch.Tensor:
        """``normalise(m * rows + (1 - m) * x)`` along ``dim``."""
        m = self.momentum
        return F.normalize(m * rows + (1 - m) * x, dim=dim)
