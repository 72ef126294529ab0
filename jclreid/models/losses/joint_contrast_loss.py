# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Union

import torch
import torch.nn as nn

from jclreid.registry import MODELS


@MODELS.register_module()
class JointContrastLoss(nn.Module):
    """``L = cluster_weight * L_cluster + instance_weight * L_instance``.

    Args:
        cluster_loss (dict | nn.Module): Cluster-level loss. Defaults to
            ``ClusterContrastLoss(temperature=0.05)``.
        instance_loss (dict | nn.Module): Instance-level loss. Defaults to
            ``InstanceContrastLoss(temperature=0.05, k_neg=50)``.
        cluster_weight (float): Defaults to 1.0.
        instance_weight (float): ``lambda``. Defaults to 1.0.
    """

    def __init__(self,
                 cluster_loss: Union[dict, nn.Module] = dict(
                     type='ClusterContrastLoss', temperature=0.05),
                 instance_loss: Union[dict, nn.Module] = dict(
                     type='InstanceContrastLoss', temperature=0.05, k_neg=50),
                 cluster_weight: float = 1.0,
                 instance_weight: float = 1.0) -> None:
        super().__init__()
        self.cluster_loss = (
            cluster_loss if isinstance(cluster_loss, nn.Module) else
            MODELS.build(cluster_loss))
        self.instance_loss = (
            instance_loss if isinstance(instance_loss, nn.Module) else
            MODELS.build(instance_loss))
        self.cluster_weight = cluster_weight
        self.instance_weight = instance_weight

    def forward(self,
                feats: torch.Tensor,
                labels: torch.Tensor,
                indices: torch.Tensor,
                instance_memory: torch.Tensor,
                instance_labels: torch.Tensor,
                centroids: Optional[torch.Tensor] = None) -> dict:
        """Compute the named losses.

        Args:
            feats (Tensor): (B, D) normalised features.
            labels (Tensor): (B, ) pseudo labels.
            indices (Tensor): (B, ) sample indices.
            instance_memory (Tensor): (N, D).
            instance_labels (Tensor): (N, ) labels of the memory entries.
            centroids (Tensor, optional): (C, D) cluster memory; None skips
                the cluster loss (warm-up).

        Returns:
            dict: ``loss_instance`` and, with centroids, ``loss_cluster``
            (already weighted).
        """
        losses = dict()
        if centroids is not None and self.cluster_weight > 0:
            losses['loss_cluster'] = self.cluster_weight * self.cluster_loss(
                feats, centroids, labels)
        if self.instance_weight > 0 or centroids is None:
            weight = self.instance_weight if centroids is not None else 1.0
            losses['loss_instance'] = weight * self.instance_loss(
                feats, instance_memory, instance_labels, labels, indices)
        return losses
