# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.registry import METRICS
from jclreid.structures import ReIDDataSample


def scene_samples(noise, seed=0):
    """48 images of 4 classes (class = pid), features around class
    centres."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(4, 8, generator=g) * 5
    samples = []
    for i in range(48):
        s = ReIDDataSample(metainfo=dict(pid=i % 4, camid=0, sample_idx=i))
        s.set_pred_feature(centers[i % 4] +
                           noise * torch.randn(8, generator=g))
        samples.append(s.to_dict())
    return samples


def run(cfg, samples):
    metric = METRICS.build(cfg)
    metric.process(None, samples[:20])
    metric.process(None, samples[20:])
    return metric.evaluate(len(samples))


def test_separable_features_score_100():
    res = run(dict(type='SceneMetric', knn_k=3, n_init=2), scene_samples(0.1))
    assert set(res) == {
        f'scene/{k}'
        for k in ('ACC', 'NMI', 'ARI', 'mAP', 'kNN')
    }
    for key, value in res.items():
        assert value == pytest.approx(100), key


def test_random_features_score_low():
    samples = scene_samples(0.1)
    g = torch.Generator().manual_seed(1)
    for s in samples:
        s['pred_feature'] = torch.randn(8, generator=g)
    res = run(dict(type='SceneMetric', knn_k=5), samples)
    assert 'scene/kNN' in res
    assert res['scene/ACC'] < 60
    assert res['scene/NMI'] < 30
    assert res['scene/mAP'] < 50
    assert res['scene/kNN'] < 60


def test_order_independent():
    samples = scene_samples(3.0, seed=3)
    order = np.random.RandomState(0).permutation(len(samples))
    assert run(dict(type='SceneMetric'), samples) == run(
        dict(type='SceneMetric'), [samples[i] for i in order])


def test_errors():
    with pytest.raises(ValueError, match='knn_k'):
        METRICS.build(dict(type='SceneMetric', knn_k=0))
    with pytest.raises(ValueError, match='at least 2 classes'):
        run(
            dict(type='SceneMetric'),
            [dict(s, pid=0) for s in scene_samples(0.1)])
    metric = METRICS.build(dict(type='SceneMetric'))
    no_label = {k: v for k, v in scene_samples(0.1)[0].items() if k != 'pid'}
    with pytest.raises(KeyError, match='pid'):
        metric.process(None, [no_label])
