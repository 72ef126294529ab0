# Copyright (c) jclreid contributors. All rights reserved.
from typing import List, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from jclreid.registry import MODELS, build_if_config
from jclreid.utils.dist import all_gather_cat


@MODELS.register_module()
class JCLHead(BaseModule):
    """JCL head: the cluster and instance memories, the joint loss and the
    pseudo-label buffer.

    The buffer holds one pseudo label per training sample and is looked up
    by ``sample_idx``; the ground-truth ``pid`` of a data sample is never
    read. :meth:`reset` is called by ``PseudoLabelHook`` at every refresh.

    Args:
        feat_dim (int): Feature size D.
        cluster_memory (dict | nn.Module): Defaults to
            ``ClusterMemory(momentum=0.2, mode='hard')``.
        instance_memory (dict | nn.Module): Defaults to
            ``InstanceMemory(momentum=0.2)``.
        loss (dict | nn.Module): Defaults to ``JointContrastLoss()``.
        init_cfg (dict, optional): Initialisation config.

    Attributes:
        warmup (bool): Set by :meth:`reset`. When True, only the instance
            loss is computed (every sample is its own pseudo identity during
            warm-up) and the cluster memory is not used. Not saved in
            checkpoints (nor are the memories and the label buffer): the
            hook resets the head before the first epoch of a resumed run.
    """

    def __init__(self,
                 feat_dim: int,
                 cluster_memory: Union[dict, nn.Module] = dict(
                     type='ClusterMemory', momentum=0.2, mode='hard'),
                 instance_memory: Union[dict, nn.Module] = dict(
                     type='InstanceMemory', momentum=0.2),
                 loss: Union[dict, nn.Module] = dict(
                     type='JointContrastLoss'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.feat_dim = feat_dim
        self.cluster_memory = build_if_config(
            cluster_memory, MODELS, feat_dim=feat_dim)
        self.instance_memory = build_if_config(
            instance_memory, MODELS, feat_dim=feat_dim)
        self.loss_module = build_if_config(loss, MODELS)
        self.register_buffer(
            'labels', torch.zeros(0, dtype=torch.long), persistent=False)
        self.warmup = False

    @property
    def is_initialized(self) -> bool:
        """Whether :meth:`reset` has filled the memories."""
        return self.labels.numel() > 0

    @torch.no_grad()
    def reset(self,
              features: torch.Tensor,
              labels: torch.Tensor,
              warmup: bool = False) -> None:
        """Refill the memories and the label buffer.

        Args:
            features (Tensor): (N, D) features of the whole train set,
                ordered by ``sample_idx``.
            labels (Tensor): (N, ) int pseudo labels in ``0..C-1``, ``-1``
                for outliers.
            warmup (bool): Whether the labels are the warm-up's (one pseudo
                identity per sample): until the next reset only the
                instance loss is trained and the cluster memory is not
                refilled. Defaults to False.
        """
        labels = torch.as_tensor(labels).long().to(features.device)
        if features.shape[0] != labels.shape[0]:
            raise ValueError(f'JCLHead.reset: {features.shape[0]} features '
                             f'but {labels.shape[0]} labels')
        feats = F.normalize(features.detach().float(), dim=1)
        valid = labels >= 0
        num_clusters = int(labels.max().item()) + 1 if valid.any() else 0
        if valid.any():
            present = torch.unique(labels[valid])
            if present.numel() != num_clusters:
                raise ValueError(
                    'JCLHead.reset: pseudo labels must be contiguous 0..C-1 '
                    f'(got {present.numel()} distinct labels up to '
                    f'{num_clusters - 1})')
        self.warmup = bool(warmup)
        device = self.labels.device
        if not self.warmup or num_clusters == 0:
            centroids = feats.new_zeros((num_clusters, feats.shape[1]))
            if num_clusters:
                centroids.index_add_(0, labels[valid], feats[valid])
            self.cluster_memory.reset(centroids.to(device))
        self.instance_memory.reset(feats.to(device))
        self.labels = labels.to(device)

    def loss(self, feats: torch.Tensor, data_samples: List) -> dict:
        """Joint loss of a batch, then the memory update.

        Args:
            feats (Tensor): (B, D) L2-normalised features.
            data_samples (list[ReIDDataSample]): With ``sample_idx``.

        Returns:
            dict: ``loss_cluster`` (not in warm-up) and ``loss_instance``.
        """
        if not self.is_initialized:
            raise RuntimeError(
                'JCLHead has no pseudo labels yet: the PseudoLabelHook must '
                'run before training (add it to custom_hooks)')
        indices = torch.as_tensor([s.sample_idx for s in data_samples],
                                  device=feats.device).long()
        labels = self.labels.to(feats.device)[indices]
        centroids = None if self.warmup else self.cluster_memory.features
        losses = self.loss_module(
            feats,
            labels,
            indices,
            instance_memory=self.instance_memory.features,
            instance_labels=self.labels,
            centroids=centroids)
        self.update_memories(feats.detach(), labels, indices)
        return losses

    @torch.no_grad()
    def update_memories(self, feats: torch.Tensor, labels: torch.Tensor,
                        indices: torch.Tensor) -> None:
        """Momentum updates from the batch of every rank (all-gathered), so
        that all ranks keep identical memories."""
        feats = all_gather_cat(feats.float())
        labels = all_gather_cat(labels)
        indices = all_gather_cat(indices)
        if not self.warmup:
            self.cluster_memory.update(feats, labels)
        self.instance_memory.update(feats, indices)
