# Copyright (c) jclreid contributors. All rights reserved.
import logging

import numpy as np
import pytest

from jclreid.clustering import (CameraAwareFilter, DBSCANClusterer,
                                jaccard_distance)
from jclreid.evaluation import ari
from jclreid.registry import CLUSTERERS


def _blobs(seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(8, 32) * 2
    x = np.concatenate([c + 0.3 * rng.randn(15, 32) for c in centers])
    return x.astype(np.float32), np.repeat(np.arange(8), 15)


def test_dbscan_recovers_blobs():
    x, y = _blobs()
    labels = DBSCANClusterer(eps=0.6, min_samples=4)(
        jaccard_distance(x, k1=10, k2=4))
    assert ari(y, labels) == pytest.approx(1.0)


def test_camera_filter(monkeypatch):
    labels = np.array([0, 0, 0, 1, 1, 2, 2, -1])
    camids = np.array([0, 0, 0, 0, 1, 2, 3, 1])
    out, info = CameraAwareFilter(min_cameras=2)(labels, camids)
    assert out.tolist() == [-1, -1, -1, 0, 0, 1, 1, -1]
    assert info['num_removed_clusters'] == 1
    filt = CameraAwareFilter(min_cameras=2)
    logged = []
    monkeypatch.setattr('jclreid.clustering.filters.print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    same, info = filt(labels, np.zeros(8, int))
    filt(labels, np.zeros(8, int))
    assert same.tolist() == labels.tolist()
    assert info['num_removed_clusters'] == 0
    # Logged once, through mmengine's current logger (the run's log file).
    assert len(logged) == 1 and 'fewer than 2 cameras' in logged[0][0]
    assert logged[0][1] == dict(logger='current', level=logging.WARNING)
    with pytest.raises(TypeError, match='min_cameras must be an int'):
        CameraAwareFilter(min_cameras=1.5)


def test_label_generator_summary():
    x, y = _blobs(1)
    # Blob 0 is seen by one camera only; the others by two.
    camids = np.where(y == 0, 0, np.arange(len(y)) % 2)
    gen = CLUSTERERS.build(
        dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=10, k2=4),
            clusterer=dict(type='DBSCANClusterer', eps=0.6, min_samples=4),
            filters=[dict(type='CameraAwareFilter', min_cameras=2)]))
    labels, summary = gen(x, camids)
    assert summary['num_clusters'] == 7
    assert summary['num_clusters_found'] == 8
    assert summary['num_removed_clusters'] == 1
    assert summary['removed_by_filter'] == {
        'CameraAwareFilter(min_cameras=2)': 1
    }
    assert summary['num_outliers'] == 15
    assert (labels[y == 0] == -1).all()
    assert sorted(set(labels[labels >= 0].tolist())) == list(range(7))
    assert summary['size_min'] == summary['size_max'] == 15


def test_stages_declare_their_contracts():
    from jclreid.clustering.base import BaseClusterer, BaseFilter
    dbscan = DBSCANClusterer(eps=0.4)
    assert isinstance(dbscan, BaseClusterer) and dbscan.max_distance == 0.4
    assert isinstance(CameraAwareFilter(), BaseFilter)
    # What the logs and summaries print.
    assert repr(dbscan) == 'DBSCANClusterer(eps=0.4, min_samples=4)'
    assert repr(CameraAwareFilter()) == 'CameraAwareFilter(min_cameras=2)'


class _Distance:
    """Records its calls; raises a TypeError of its own when asked to."""

    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def __call__(self, features, max_distance=None):
        self.calls.append(max_distance)
        if self.fail:
            raise TypeError('a bug inside the distance')
        return jaccard_distance(features, k1=10, k2=4)


def test_distance_gets_the_clusterers_max_distance_once():
    from jclreid.clustering import LabelGenerator
    x, _ = _blobs()
    distance = _Distance()
    LabelGenerator(
        distance=distance,
        clusterer=dict(type='DBSCANClusterer', eps=0.5),
        filters=[])(x)
    assert distance.calls == [0.5]
    # A clusterer that declares nothing: every entry (max_distance=None).
    distance = _Distance()
    LabelGenerator(
        distance=distance,
        clusterer=lambda d: np.zeros(d.shape[0], np.int64),
        filters=[])(x)
    assert distance.calls == [None]


def test_type_error_inside_the_distance_propagates():
    from jclreid.clustering import LabelGenerator
    distance = _Distance(fail=True)
    gen = LabelGenerator(distance=distance)
    with pytest.raises(TypeError, match='a bug inside the distance'):
        gen(_blobs()[0])
    assert distance.calls == [0.6]  # ran once, not retried
