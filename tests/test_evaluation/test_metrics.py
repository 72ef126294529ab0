# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import torch

from jclreid.evaluation import compute_distance, re_ranking
from jclreid.registry import METRICS
from jclreid.structures import ReIDDataSample


def _reid_samples(perfect: bool, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(10, 16, generator=g)
    samples, idx = [], 0
    for pid in range(10):
        for cam in range(3):
            noise = 0.05 if perfect else 10.0
            feat = centers[pid] + noise * torch.randn(16, generator=g)
            s = ReIDDataSample(metainfo=dict(
                pid=pid, camid=cam, is_query=cam == 0, sample_idx=idx))
            s.set_pred_feature(feat)
            samples.append(s.to_dict())
            idx += 1
    return samples


def test_reid_metric_perfect_and_random():
    metric = METRICS.build(dict(type='ReIDMetric'))
    samples = _reid_samples(True)
    metric.process(None, samples)
    metric.process(None, samples[:3])  # padding duplicates are dropped
    res = metric.evaluate(len(samples) + 3)
    assert res['reid/mAP'] == 100 and res['reid/Rank-1'] == 100
    noisy = METRICS.build(dict(type='ReIDMetric', metric='euclidean'))
    noisy.process(None, _reid_samples(False))
    assert noisy.evaluate(30)['reid/mAP'] < 60
    rr = METRICS.build(dict(type='ReIDMetric', rerank=True, k1=4, k2=2))
    rr.process(None, _reid_samples(True))
    assert rr.evaluate(30)['reid/mAP'] == 100


def test_distance_functions():
    a, b = torch.randn(3, 4), torch.randn(5, 4)
    cos = compute_distance(a, b, 'cosine')
    expected = 1 - torch.nn.functional.cosine_similarity(
        a[:, None], b[None], dim=2)
    assert torch.allclose(cos, expected, atol=1e-5)
    euc = compute_distance(a, b, 'euclidean')
    assert torch.allclose(euc, torch.cdist(a, b)**2, atol=1e-4)


def test_re_ranking_shape_and_range():
    rng = np.random.RandomState(0)
    q, g = rng.randn(4, 8), rng.randn(9, 8)
    d = lambda x, y: compute_distance(torch.tensor(x), torch.tensor(y)).numpy()  # noqa
    out = re_ranking(d(q, g), d(q, q), d(g, g), k1=3, k2=2, lambda_value=0.3)
    assert out.shape == (4, 9)
    assert (out >= 0).all() and (out <= 1.0 + 1e-6).all()
    # lambda=1 keeps the (column-normalised) original ordering.
    orig = re_ranking(d(q, g), d(q, q), d(g, g), k1=3, k2=2, lambda_value=1)
    full = np.concatenate([np.concatenate([d(q, q), d(q, g)], 1),
                           np.concatenate([d(g, q), d(g, g)], 1)])
    assert np.allclose(orig, (full / full.max(0))[:4, 4:], atol=1e-6)


def test_scene_metric():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(4, 8, generator=g) * 5
    samples = []
    for i in range(40):
        s = ReIDDataSample(metainfo=dict(pid=i % 4, sample_idx=i))
        s.set_pred_feature(centers[i % 4] + 0.1 * torch.randn(8, generator=g))
        samples.append(s)
    metric = METRICS.build(dict(type='SceneMetric', knn_k=3))
    metric.process(None, samples)
    res = metric.evaluate(40)
    for key in ('ACC', 'NMI', 'ARI', 'mAP', 'kNN'):
        assert res[f'scene/{key}'] > 99, key
    rand = METRICS.build(dict(type='SceneMetric'))
    for s in samples:
        s.set_pred_feature(torch.randn(8, generator=g))
    rand.process(None, samples)
    assert rand.evaluate(40)['scene/ACC'] < 70


def test_dump_ranking(tmp_path):
    import pickle
    out = tmp_path / 'sub' / 'rank.pkl'
    metric = METRICS.build(dict(type='DumpReIDRanking', out_file=str(out),
                                topk=5))
    samples = _reid_samples(True)
    metric.process(None, samples)
    assert metric.evaluate(len(samples)) == {}
    with open(out, 'rb') as f:
        dump = pickle.load(f)
    assert dump['features'].shape == (30, 16)
    assert dump['ranking'].shape == (10, 5)
    # Perfect features: the first ranked gallery item has the query's pid.
    q_pids = dump['pids'][dump['query_index']]
    g_pids = dump['pids'][dump['gallery_index']]
    assert (g_pids[dump['ranking'][:, 0]] == q_pids).all()
    assert (np.diff(dump['distances'], axis=1) >= 0).all()
