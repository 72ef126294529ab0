# Copyright (c) jclreid contributors. All rights reserved.
from .cluster_contrast_loss import ClusterContrastLoss
from .instance_contrast_loss import InstanceContrastLoss
from .joint_contrast_loss import JointContrastLoss

__all__ = ['ClusterContrastLoss', 'InstanceContrastLoss', 'JointContrastLoss']
