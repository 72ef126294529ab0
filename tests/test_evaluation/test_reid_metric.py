# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import compute_distance, evaluate_rank
from jclreid.registry import METRICS
from jclreid.structures import ReIDDataSample

from _free_port import free_port


def reid_samples(noise, seed=0, as_dict=True):
    """10 identities x 3 cameras; camera 0 is the query."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(10, 16, generator=g)
    samples = []
    for idx in range(30):
        pid, cam = idx // 3, idx % 3
        s = ReIDDataSample(
            metainfo=dict(
                pid=pid, camid=cam, is_query=cam == 0, sample_idx=idx))
        s.set_pred_feature(centers[pid] + noise * torch.randn(16, generator=g))
        samples.append(s.to_dict() if as_dict else s)
    return samples


def run(cfg, samples, size=None):
    metric = METRICS.build(cfg)
    for start in range(0, len(samples), 4):  # batches of 4
        metric.process(None, samples[start:start + 4])
    return metric.evaluate(len(samples) if size is None else size)


def test_perfect_features_score_100():
    res = run(dict(type='ReIDMetric'), reid_samples(0.05))
    assert set(res) == {
        'reid/mAP', 'reid/mINP', 'reid/Rank-1', 'reid/Rank-5', 'reid/Rank-10'
    }
    for value in res.values():
        assert value == pytest.approx(100)
    # ReIDDataSample objects work too, and so does re-ranking.
    res = run(
        dict(type='ReIDMetric', rerank=True, k1=4, k2=2),
        reid_samples(0.05, as_dict=False))
    assert res['reid/mAP'] == pytest.approx(100)


def test_random_features_score_low_and_match_functional():
    samples = reid_samples(10.0, seed=1)
    res = run(
        dict(type='ReIDMetric', metric='euclidean', topk=(1, 3), prefix='val'),
        samples)
    assert set(res) == {'val/mAP', 'val/mINP', 'val/Rank-1', 'val/Rank-3'}
    assert res['val/mAP'] < 60
    feats = torch.stack([s['pred_feature'] for s in samples])
    pids = np.arange(30) // 3
    cams = np.arange(30) % 3
    q = cams == 0
    expected = evaluate_rank(
        compute_distance(feats[q], feats[~q], 'euclidean'), pids[q], pids[~q],
        cams[q], cams[~q])
    assert res['val/mAP'] == pytest.approx(100 * expected['mAP'])
    assert res['val/mINP'] == pytest.approx(100 * expected['mINP'])
    assert res['val/Rank-3'] == pytest.approx(100 * expected['cmc'][2])


def test_order_independent_and_deduplicated():
    samples = reid_samples(1.0, seed=2)
    reference = run(dict(type='ReIDMetric'), samples)
    shuffled = [samples[i] for i in np.random.RandomState(0).permutation(30)]
    # Repeated samples (padding) are counted once.
    assert run(
        dict(type='ReIDMetric'), shuffled + samples[:5], size=35) == reference


def test_errors():
    samples = reid_samples(0.05)
    gallery_only = [s for s in samples if not s['is_query']]
    with pytest.raises(ValueError, match='needs query and gallery'):
        run(dict(type='ReIDMetric'), gallery_only)
    clash = dict(samples[1], pid=5)  # same sample_idx, another identity
    with pytest.raises(ValueError, match='sample_idx must be unique'):
        run(dict(type='ReIDMetric'), samples + [clash], size=31)
    metric = METRICS.build(dict(type='ReIDMetric'))
    no_cam = {k: v for k, v in samples[0].items() if k != 'camid'}
    with pytest.raises(KeyError, match='camid'):
        metric.process(None, [no_cam])
    with pytest.raises(KeyError, match='pred_feature'):
        metric.process(None, [dict(pid=1, camid=0, is_query=True)])
    with pytest.raises(ValueError, match='topk'):
        METRICS.build(dict(type='ReIDMetric', topk=(1, 60)))
    with pytest.raises(ValueError, match='metric'):
        METRICS.build(dict(type='ReIDMetric', metric='l1'))


def _dist_worker(rank, port, out_dir):
    import os
    import torch.distributed as dist

    from jclreid.utils import register_all_modules
    torch.set_num_threads(1)
    register_all_modules()
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    samples = reid_samples(1.0, seed=4)[:29]
    # mmengine's DefaultSampler(round_up=True) for 29 samples on 2 ranks:
    # interleaved shards, rank 1 padded with sample 0.
    indices = list(range(29)) + [0]
    metric = METRICS.build(dict(type='ReIDMetric'))
    for i in indices[rank::2]:
        metric.process(None, [samples[i]])
    torch.save(metric.evaluate(29), os.path.join(out_dir, f'{rank}.pth'))
    dist.destroy_process_group()


def test_two_gloo_ranks_match_one_process(tmp_path):
    import torch.multiprocessing as mp
    # fork: the workers inherit the imported modules (spawn re-imports).
    mp.start_processes(
        _dist_worker,
        args=(free_port(), str(tmp_path)),
        nprocs=2,
        start_method='fork')
    expected = run(dict(type='ReIDMetric'), reid_samples(1.0, seed=4)[:29])
    for rank in range(2):  # every rank receives rank 0's scores
        assert torch.load(tmp_path / f'{rank}.pth') == expected
