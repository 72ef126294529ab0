# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import evaluate_rank


def brute_force(dist, q_pids, g_pids, q_cams, g_cams, max_rank):
    """Independent reference: one query at a time, pure Python lists."""
    cmc_total = [0.0] * max_rank
    aps, inps, valid = [], [], 0
    for i in range(len(q_pids)):
        gallery = [
            j for j in range(len(g_pids))
            if g_pids[j] != -1 and not (g_pids[j] == q_pids[i]
                                        and g_cams[j] == q_cams[i])
        ]
        gallery.sort(key=lambda j: dist[i][j])
        hits = [g_pids[j] == q_pids[i] for j in gallery]
        if not any(hits):
            continue
        valid += 1
        first = hits.index(True)
        for r in range(first, max_rank):
            cmc_total[r] += 1
        found, precisions, last = 0, [], 0
        for rank, hit in enumerate(hits, 1):
            if hit:
                found += 1
                precisions.append(found / rank)
                last = rank
        aps.append(sum(precisions) / len(precisions))
        inps.append(found / last)
    return [c / valid for c in cmc_total], sum(aps) / valid, \
        sum(inps) / valid, valid


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matches_brute_force(seed):
    rng = np.random.RandomState(seed)
    nq, ng = 30, 120
    q_pids = rng.randint(0, 15, nq)
    g_pids = rng.randint(-1, 15, ng)  # includes junk -1 and distractor 0
    q_cams, g_cams = rng.randint(0, 4, nq), rng.randint(0, 4, ng)
    dist = rng.permutation(nq * ng).reshape(nq, ng).astype(np.float64)
    res = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=20)
    cmc, m_ap, m_inp, valid = brute_force(dist.tolist(), q_pids.tolist(),
                                          g_pids.tolist(), q_cams.tolist(),
                                          g_cams.tolist(), 20)
    assert res['num_valid_queries'] == valid
    assert res['num_skipped_queries'] == nq - valid
    np.testing.assert_allclose(res['cmc'], cmc, atol=1e-6)
    assert res['mAP'] == pytest.approx(m_ap, abs=1e-6)
    assert res['mINP'] == pytest.approx(m_inp, abs=1e-6)


def test_hand_case_and_tensor_input():
    # Gallery order by distance: [x(pid1,cam0), m(pid1,cam1), n(pid2), m2]
    dist = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    res = evaluate_rank(dist, torch.tensor([1]), torch.tensor([1, 1, 2, 1]),
                        torch.tensor([0]), torch.tensor([0, 1, 1, 1]),
                        max_rank=3)
    # Same pid same cam removed: ranking m, n, m2 -> AP = (1/1 + 2/3) / 2.
    assert res['mAP'] == pytest.approx((1 + 2 / 3) / 2)
    assert res['mINP'] == pytest.approx(2 / 3)
    assert res['cmc'].tolist() == [1.0, 1.0, 1.0]


def test_no_valid_query_raises():
    with pytest.raises(RuntimeError, match='no query'):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 2], [0], [0, 0])
