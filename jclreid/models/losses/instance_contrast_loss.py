# Copyright (c) jclreid contributors. All rights reserved.
import torch
import torch.nn as nn

from jclreid.registry import MODELS


@MODELS.register_module()
class InstanceContrastLoss(nn.Module):
    """Instance-level contrastive loss on easily confused samples.

    For an anchor ``f_i`` with pseudo label ``y_i``:

    - positive ``p``: the memory entry with the same label, other than
      ``i``, least similar to ``f_i``; its own entry ``M[i]`` when the
      cluster has no other member or the anchor is an outlier (``-1``);
    - negatives: the ``k_neg`` memory entries most similar to ``f_i``
      among those with a different label (outliers count as negatives; for
      an outlier anchor every other entry is a candidate).

    ``L = -log(exp(f.p / t) / (exp(f.p / t) + sum_n exp(f.n / t)))``,
    averaged over the batch.

    Args:
        temperature (float): ``t``. Defaults to 0.05.
        k_neg (int): Hardest negatives per anchor. Defaults to 50.

    Inputs:
        feats (Tensor): (B, D) L2-normalised features.
        memory (Tensor): (N, D) instance memory (no gradient).
        memory_labels (Tensor): (N, ) pseudo labels of the memory entries.
        labels (Tensor): (B, ) pseudo labels of the anchors.
        indices (Tensor): (B, ) indices of the anchors in the memory.
    """

    def __init__(self, temperature: float = 0.05, k_neg: int = 50) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError('InstanceContrastLoss.temperature must be > 0, '
                             f'got {temperature}')
        if k_neg < 1:
            raise ValueError(f'InstanceContrastLoss.k_neg must be >= 1, got '
                             f'{k_neg}')
        self.temperature = temperature
        self.k_neg = k_neg

    def forward(self, feats: torch.Tensor, memory: torch.Tensor,
                memory_labels: torch.Tensor, labels: torch.Tensor,
                indices: torch.Tensor) -> torch.Tensor:
        memory = memory.detach().to(feats.dtype)
        b = feats.shape[0]
        rows = torch.arange(b, device=feats.device)
        indices = indices.long()
        sims = feats @ memory.t()  # (B, N)
        mem_labels = memory_labels[None, :]
        anchor = labels[:, None]
        is_self = torch.zeros_like(sims, dtype=torch.bool)
        is_self[rows, indices] = True
        same = (mem_labels == anchor) & (anchor >= 0) & ~is_self
        has_pos = same.any(dim=1)
        hardest_pos = sims.detach().masked_fill(~same,
                                                float('inf')).argmin(dim=1)
        pos_idx = torch.where(has_pos, hardest_pos, indices)
        pos = sims[rows, pos_idx]  # (B, )
        diff = ((mem_labels != anchor) | (mem_labels < 0)) & ~is_self
        neg_sims = sims.masked_fill(~diff, float('-inf'))
        k = min(self.k_neg, sims.shape[1])
        negs = neg_sims.topk(k, dim=1).values  # (B, k), -inf if too few
        logits = torch.cat([pos[:, None], negs], dim=1) / self.temperature
        return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()
