# Copyright (c) jclreid contributors. All rights reserved.
import time
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from jclreid.registry import CLUSTERERS, build_if_config
from .filters import relabel_contiguous


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

    Its argument defaults are the one statement of the default pipeline
    (``PseudoLabelHook(label_generator=None)`` builds
    ``LabelGenerator()``); configs that state other values override them.

    The stages follow the contracts of :mod:`jclreid.clustering.base`: the
    distance is called once as ``distance(features,
    max_distance=clusterer.max_distance)`` so that it may leave out the
    entries the clusterer never compares. Custom stages should subclass
    :class:`~jclreid.clustering.base.BaseDistance`,
    :class:`~jclreid.clustering.base.BaseClusterer` and
    :class:`~jclreid.clustering.base.BaseFilter`; a clusterer without a
    ``max_distance`` attribute is taken as ``max_distance=None`` (every
    entry), but the distance must accept the ``max_distance`` keyword.

    Args:
        distance (dict | callable): ``features -> sparse (N, N) distances``.
            Defaults to ``JaccardDistance(k1=30, k2=6)``.
        clusterer (dict | callable): ``distances -> labels``. Defaults to
            ``DBSCANClusterer(eps=0.6, min_samples=4)``.
        filters (Sequence[dict | callable]): Each ``(labels, camids) ->
            (labels, info)``. Defaults to
            ``[CameraAwareFilter(min_cameras=2)]``.

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

    Attributes:
        stage_seconds (dict): Wall seconds of each stage of the last call,
            in call order, keyed by the stage's class name (the distance,
            the clusterer, each filter; repeated classes add up).
    """

    def __init__(self,
                 distance: Union[dict, object] = dict(
                     type='JaccardDistance', k1=30, k2=6),
                 clusterer: Union[dict, object] = dict(
                     type='DBSCANClusterer', eps=0.6, min_samples=4),
                 filters: Sequence[Union[dict, object]] = (dict(
                     type='CameraAwareFilter', min_cameras=2), )) -> None:
        self.distance = build_if_config(distance, CLUSTERERS)
        self.clusterer = build_if_config(clusterer, CLUSTERERS)
        self.filters = [build_if_config(f, CLUSTERERS) for f in filters]
        self.stage_seconds: Dict[str, float] = {}

    def _timed(self, stage, *args, **kwargs):
        """``stage(*args, **kwargs)``, adding its wall seconds to
        :attr:`stage_seconds` under the stage's class name."""
        start = time.perf_counter()
        out = stage(*args, **kwargs)
        name = type(stage).__name__
        self.stage_seconds[name] = self.stage_seconds.get(
            name, 0.0) + time.perf_counter() - start
        return out

    def __call__(self,
                 features,
                 camids: Optional[np.ndarray] = None
                 ) -> Tuple[np.ndarray, dict]:
        self.stage_seconds = {}
        dist = self._timed(
            self.distance,
            features,
            max_distance=getattr(self.clusterer, 'max_distance', None))
        labels = relabel_contiguous(self._timed(self.clusterer, dist))
        found = _num_clusters(labels)
        removed = 0
        removed_by: dict = {}
        for filt in self.filters:
            before = _num_clusters(labels)
            labels, info = self._timed(filt, labels, camids)
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


def no_cluster_advice(summary: dict,
                      clusterer=None,
                      camids: Optional[np.ndarray] = None) -> str:
    """Why a label generator left no cluster, and what to change.

    Tells apart a clusterer that found nothing (raise ``eps``, lower
    ``min_samples``) from filters that removed every cluster it found
    (named with the count each removed; for ``CameraAwareFilter``:
    ``min_cameras`` and the camera ids).

    Args:
        summary (dict): The generator's summary (``num_clusters_found``,
            ``removed_by_filter``; a custom generator without them gets
            the clusterer advice).
        clusterer (callable, optional): The clusterer, named in the text.
        camids (np.ndarray, optional): Camera ids of the samples, counted
            when the camera-aware filter removed clusters.

    Returns:
        str: E.g. ``'the clusterer DBSCANClusterer(eps=0.6, min_samples=4)
        found no cluster; increase its `eps` ...'``.
    """
    name = ('the clusterer' if clusterer is None else
            f'the clusterer {describe(clusterer)}')
    found = summary.get('num_clusters_found')
    if not found:
        return (f'{name} found no cluster; increase its `eps` '
                '(label_generator.clusterer.eps) or lower `min_samples` in '
                'the config')
    removed_by = summary.get('removed_by_filter') or {}
    culprits = ', '.join(f'{k} removed {v}' for k, v in removed_by.items()
                         if v)
    msg = (f'{name} found {found} clusters, but the filters removed all of '
           f'them ({culprits or "no count reported"}); raising eps will not '
           'help.')
    if not any(k.startswith('CameraAwareFilter') and v
               for k, v in removed_by.items()):
        return msg + ' Loosen or remove that filter (label_generator.filters)'
    cams = np.unique(np.asarray([] if camids is None else camids))
    return msg + (
        ' CameraAwareFilter keeps only clusters whose images come from at '
        'least `min_cameras` cameras, and no cluster did; the train set has '
        f'{cams.size} camera ids ({cams[:10].tolist()}'
        f'{"..." if cams.size > 10 else ""}). Check that the camera ids are '
        'right (e.g. the camera part of the dataset\'s file-name pattern), '
        'lower `min_cameras` (label_generator.filters; 1 keeps every '
        'cluster), or add `warmup_epochs` so that the features stop '
        'grouping images by camera before the first clustering')
