# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from jclreid.registry import CLUSTERERS
from .filters import relabel_contiguous


def _build(cfg):
    return CLUSTERERS.build(cfg) if isinstance(cfg, dict) else cfg


def describe(obj) -> str:
    """``repr(obj)`` when its class defines one (e.g.
    ``CameraAwareFilter(min_cameras=2)``), else the class name."""
    if type(obj).__repr__ is object.__repr__:
        return type(obj).__name__
    return repr(obj)


def _num_clusters(labels: np.ndarray) -> int:
    return int(np.unique(labels[labels >= 0]).size)


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
        dict: ``num_samples``, ``num_clusters`` (after the filters),
        ``num_clusters_found`` (by the clusterer, before the filters),
        ``num_outliers``, ``num_removed_clusters`` (by all filters),
        ``removed_by_filter`` (dict: each filter's description, e.g.
        ``'CameraAwareFilter(min_cameras=2)'``, -> clusters it removed;
        the ``num_removed_clusters`` of its info, or the drop in the
        number of clusters when the info has none) and ``size_min`` /
        ``size_median`` / ``size_max``.
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
        found = _num_clusters(labels)
        removed = 0
        removed_by: dict = {}
        for filt in self.filters:
            before = _num_clusters(labels)
            labels, info = filt(labels, camids)
            labels = np.asarray(labels, dtype=np.int64)
            num = info.get('num_removed_clusters')
            num = before - _num_clusters(labels) if num is None else int(num)
            removed += num
            key = describe(filt)
            removed_by[key] = removed_by.get(key, 0) + num
        sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() \
            else np.zeros(0, dtype=np.int64)
        summary = dict(
            num_samples=int(labels.size),
            num_clusters=int(sizes.size),
            num_clusters_found=found,
            num_outliers=int((labels < 0).sum()),
            num_removed_clusters=removed,
            removed_by_filter=removed_by,
            size_min=int(sizes.min()) if sizes.size else 0,
            size_median=float(np.median(sizes)) if sizes.size else 0.0,
            size_max=int(sizes.max()) if sizes.size else 0)
        return labels, summary
