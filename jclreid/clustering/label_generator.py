# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from jclreid.registry import CLUSTERERS
from .filters import relabel_contiguous


def _build(cfg):
    return CLUSTERERS.build(cfg) if isinstance(cfg, dict) else cfg


@CLUSTERERS.register_module()
class LabelGenerator:
    """Pseudo labels: distance -> clusterer -> filters.

    Args:
        distance (dict | callable): ``features -> sparse (N, N) distances``.
            Defaults to ``JaccardDistance(k1=30, k2=6)``.
        clusterer (dict | callable): ``distances -> labels``. Defaults to
            ``DBSCANClusterer(eps=0.6, min_samples=4)``.
        filters (Sequence[dict | callable]): Each ``(labels, camids) ->
            (labels, info)``. Defaults to ``[CameraAwareFilter()]``.

    Call:
        ``generator(features (N, D), camids (N, ) or None)`` returns labels
        (N, ) int64 in ``0..C-1`` with ``-1`` for outliers, and a summary
        dict: ``num_samples``, ``num_clusters``, ``num_outliers``,
        ``num_removed_clusters``, ``size_min`` / ``size_median`` /
        ``size_max`` and ``num_singletons_removed``.
    """

    def __init__(self,
                 distance: Union[dict, object] = dict(
                     type='JaccardDistance', k1=30, k2=6),
                 clusterer: Union[dict, object] = dict(
                     type='DBSCANClusterer', eps=0.6, min_samples=4),
                 filters: Sequence[Union[dict, object]] = (dict(
                     type='CameraAwareFilter', min_cameras=2), )) -> None:
        self.distance = _build(distance)
        self.clusterer = _build(clusterer)
        self.filters = [_build(f) for f in filters]

    def __call__(self,
                 features,
                 camids: Optional[np.ndarray] = None
                 ) -> Tuple[np.ndarray, dict]:
        eps = getattr(self.clusterer, 'eps', None)
        try:
            dist = self.distance(features, max_distance=eps)
        except TypeError:
            dist = self.distance(features)
        labels = relabel_contiguous(self.clusterer(dist))
        removed = 0
        for filt in self.filters:
            labels, info = filt(labels, camids)
            removed += int(info.get('num_removed_clusters', 0))
        sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() \
            else np.zeros(0, dtype=np.int64)
        summary = dict(
            num_samples=int(labels.size),
            num_clusters=int(sizes.size),
            num_outliers=int((labels < 0).sum()),
            num_removed_clusters=removed,
            size_min=int(sizes.min()) if sizes.size else 0,
            size_median=float(np.median(sizes)) if sizes.size else 0.0,
            size_max=int(sizes.max()) if sizes.size else 0)
        return labels, summary
