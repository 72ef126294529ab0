# Copyright (c) jclreid contributors. All rights reserved.
import pickle

import numpy as np
import pytest
import torch

from jclreid.registry import METRICS
from jclreid.structures import ReIDDataSample


def reid_samples():
    """10 identities x 3 cameras with near-perfect features; camera 0 is
    the query."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(10, 16, generator=g)
    samples = []
    for idx in range(30):
        pid, cam = idx // 3, idx % 3
        s = ReIDDataSample(
            metainfo=dict(
                pid=pid,
                camid=cam,
                is_query=cam == 0,
                sample_idx=idx,
                img_path=f'{idx}.jpg'))
        s.set_pred_feature(centers[pid] + 0.05 * torch.randn(16, generator=g))
        samples.append(s.to_dict())
    return samples


def test_dump_ranking(tmp_path):
    out = tmp_path / 'sub' / 'rank.pkl'
    metric = METRICS.build(
        dict(type='DumpReIDRanking', out_file=str(out), topk=5))
    samples = reid_samples()
    metric.process(None, samples[::-1])  # stored sorted by sample_idx
    assert metric.evaluate(len(samples)) == {}
    with open(out, 'rb') as f:
        dump = pickle.load(f)
    assert dump['features'].shape == (30, 16)
    assert dump['img_paths'] == [f'{i}.jpg' for i in range(30)]
    np.testing.assert_array_equal(dump['sample_idx'], np.arange(30))
    assert dump['ranking'].shape == (10, 5)
    # Perfect features: the first ranked gallery item has the query's pid.
    q_pids = dump['pids'][dump['query_index']]
    g_pids = dump['pids'][dump['gallery_index']]
    assert (g_pids[dump['ranking'][:, 0]] == q_pids).all()
    assert (np.diff(dump['distances'], axis=1) >= 0).all()


def test_dump_ranking_needs_pickle_path(tmp_path):
    with pytest.raises(ValueError, match='.pkl'):
        METRICS.build(
            dict(type='DumpReIDRanking', out_file=str(tmp_path / 'a.txt')))


def test_dump_ranking_has_a_prefix(tmp_path):
    # mmengine's BaseMetric logs "The prefix is not set" when it is None.
    metric = METRICS.build(
        dict(type='DumpReIDRanking', out_file=str(tmp_path / 'r.pkl')))
    assert metric.prefix == 'dump'
