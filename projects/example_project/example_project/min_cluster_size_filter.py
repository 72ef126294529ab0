# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Tuple

import numpy as np

from jclreid.clustering import relabel_contiguous
from jclreid.clustering.base import BaseFilter
from jclreid.registry import CLUSTERERS


@CLUSTERERS.register_module()
class MinClusterSizeFilter(BaseFilter):
    """Turn clusters with fewer than ``min_size`` members into outliers.

    A pseudo identity needs at least ``num_instances`` images for the
    ``PseudoIdentitySampler`` to draw a P x K batch without repeating
    images; smaller clusters are drawn with replacement. This filter drops
    them instead (a plugin example, not part of the JCL recipe).

    Args:
        min_size (int): Members a cluster must have to be kept.
            Defaults to 4.

    Call:
        ``filter(labels (N, ), camids (N, ) or None) -> (labels, info)``:
        labels relabelled contiguous ``0..C-1`` (``-1`` outliers);
        ``info`` has ``num_removed_clusters``.
    """

    _repr_fields = ('min_size', )

    def __init__(self, min_size: int = 4) -> None:
        if isinstance(min_size, bool) or not isinstance(
                min_size, (int, np.integer)) or min_size < 1:
            raise ValueError('MinClusterSizeFilter.min_size must be an int '
                             f'>= 1, got {min_size!r}')
        self.min_size = int(min_size)

    def __call__(self, labels: np.ndarray,
                 camids: Optional[np.ndarray]) -> Tuple[np.ndarray, dict]:
        labels = np.asarray(labels, dtype=np.int64)
        valid = labels >= 0
        clusters, sizes = np.unique(labels[valid], return_counts=True)
        removed = clusters[sizes < self.min_size]
        out = labels.copy()
        out[np.isin(out, removed)] = -1
        return relabel_contiguous(out), dict(
            num_removed_clusters=int(removed.size))
