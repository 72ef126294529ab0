# Copyright (c) jclreid contributors. All rights reserved.
import logging
from typing import Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from jclreid.registry import CLUSTERERS
from .base import BaseFilter


def relabel_contiguous(labels: np.ndarray) -> np.ndarray:
    """Map the labels >= 0 to ``0..C-1`` in increasing order of the old
    label; ``-1`` stays ``-1``."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full_like(labels, -1)
    valid = labels >= 0
    if valid.any():
        _, out[valid] = np.unique(labels[valid], return_inverse=True)
    return out


@CLUSTERERS.register_module()
class CameraAwareFilter(BaseFilter):
    """Turn clusters seen by fewer than ``min_cameras`` cameras into
    outliers.

    Random or early features group images by camera before they group them
    by identity; a single-camera cluster is more likely a camera than a
    person. On a dataset with fewer than ``min_cameras`` cameras (e.g.
    scene folders) the filter would remove everything: it logs a warning
    once (mmengine's current logger) and does nothing.

    Args:
        min_cameras (int): Cameras a cluster must span to be kept; 1 keeps
            every cluster. Defaults to 2.

    Call:
        ``filter(labels, camids) -> (labels, info)``: labels relabelled
        contiguous ``0..C-1``; ``info`` has ``num_removed_clusters``.
    """

    _repr_fields = ('min_cameras', )

    def __init__(self, min_cameras: int = 2) -> None:
        if isinstance(min_cameras, bool) or not isinstance(
                min_cameras, (int, np.integer)):
            raise TypeError('CameraAwareFilter.min_cameras must be an int, '
                            f'got {min_cameras!r}')
        if min_cameras < 1:
            raise ValueError('CameraAwareFilter.min_cameras must be >= 1, '
                             f'got {min_cameras}')
        self.min_cameras = int(min_cameras)
        self._warned = False

    def __call__(self, labels: np.ndarray,
                 camids: Optional[np.ndarray]) -> Tuple[np.ndarray, dict]:
        labels = np.asarray(labels, dtype=np.int64)
        if camids is None or len(np.unique(camids)) < self.min_cameras:
            if not self._warned:
                print_log(
                    f'CameraAwareFilter: the dataset has fewer than '
                    f'{self.min_cameras} cameras; the filter is disabled',
                    logger='current',
                    level=logging.WARNING)
                self._warned = True
            return relabel_contiguous(labels), dict(num_removed_clusters=0)
        camids = np.asarray(camids, dtype=np.int64)
        if camids.shape != labels.shape:
            raise ValueError(f'CameraAwareFilter: {labels.shape[0]} labels '
                             f'but {camids.shape[0]} camera ids')
        valid = labels >= 0
        pairs = np.unique(
            np.stack([labels[valid], camids[valid]], axis=1), axis=0)
        clusters, cams_per_cluster = np.unique(pairs[:, 0], return_counts=True)
        removed = clusters[cams_per_cluster < self.min_cameras]
        out = labels.copy()
        out[np.isin(out, removed)] = -1
        return relabel_contiguous(out), dict(
            num_removed_clusters=int(removed.size))
