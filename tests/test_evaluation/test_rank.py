# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import evaluate_rank


def brute_force(dist, q_pids, g_pids, q_cams, g_cams, max_rank):
    """Independent reference: one query at a time, pure Python lists."""
    cmc_total = [0.0] * max_rank
    aps, inps = [], []
    for i in range(len(q_pids)):
        gallery = [
            j for j in range(len(g_pids)) if g_pids[j] != -1
            and not (g_pids[j] == q_pids[i] and g_cams[j] == q_cams[i])
        ]
        gallery.sort(key=lambda j: dist[i][j])
        hits = [g_pids[j] == q_pids[i] for j in gallery]
        if not any(hits):
            continue
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
    valid = len(aps)
    return ([c / valid
             for c in cmc_total], sum(aps) / valid, sum(inps) / valid, valid)


def random_case(seed, nq=40, ng=150, num_pids=12, num_cams=4):
    rng = np.random.RandomState(seed)
    q_pids = rng.randint(1, num_pids, nq)
    q_cams = rng.randint(0, num_cams, nq)
    g_pids = rng.randint(-1, num_pids, ng)  # -1 junk, 0 distractors
    g_cams = rng.randint(0, num_cams, ng)
    # A query whose identity is only seen by its own camera, and one whose
    # identity is absent from the gallery: both must be skipped.
    q_pids[:2], q_cams[0] = [num_pids + 1, num_pids + 2], 0
    g_pids[:3], g_cams[:3] = num_pids + 1, 0
    # Tie-free distances, with true matches a little closer on average.
    dist = rng.permutation(nq * ng).reshape(nq, ng).astype(np.float64)
    dist -= 2000.5 * (q_pids[:, None] == g_pids[None])
    return dist, q_pids, g_pids, q_cams, g_cams


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('chunk_size', [7, 256])
def test_matches_brute_force(seed, chunk_size):
    dist, q_pids, g_pids, q_cams, g_cams = random_case(seed)
    res = evaluate_rank(
        dist,
        q_pids,
        g_pids,
        q_cams,
        g_cams,
        max_rank=20,
        chunk_size=chunk_size)
    cmc, m_ap, m_inp, valid = brute_force(dist.tolist(), q_pids.tolist(),
                                          g_pids.tolist(), q_cams.tolist(),
                                          g_cams.tolist(), 20)
    assert res['num_valid_queries'] == valid
    assert res['num_skipped_queries'] == len(q_pids) - valid >= 2
    assert res['cmc'].shape == (20, )
    np.testing.assert_allclose(res['cmc'], cmc, atol=1e-6)
    assert res['mAP'] == pytest.approx(m_ap, abs=1e-6)
    assert res['mINP'] == pytest.approx(m_inp, abs=1e-6)
    assert 0 < res['mINP'] <= res['mAP'] <= res['cmc'][-1] <= 1


def test_hand_case_known_ap():
    # Query 0 (pid 1, cam 0), gallery in distance order:
    #   pid 1 cam 0 (removed: same pid and camera), pid 2, pid 1 cam 1,
    #   junk -1 (removed), pid 1 cam 2, pid 3
    # -> ranking pid 2, pid 1, pid 1, pid 3: matches at ranks 2 and 3.
    # Query 1 (pid 3, cam 1): its only match (gallery 5) ranks first.
    g_pids = [1, 2, 1, -1, 1, 3]
    g_cams = [0, 1, 1, 0, 2, 0]
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                     [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]])
    res = evaluate_rank(dist, [1, 3], g_pids, [0, 1], g_cams, max_rank=4)
    ap0, inp0 = (1 / 2 + 2 / 3) / 2, 2 / 3
    assert res['mAP'] == pytest.approx((ap0 + 1) / 2)
    assert res['mINP'] == pytest.approx((inp0 + 1) / 2)
    np.testing.assert_allclose(res['cmc'], [0.5, 1, 1, 1])
    assert res['num_valid_queries'] == 2
    assert res['num_skipped_queries'] == 0


def test_torch_input_and_max_rank_beyond_gallery():
    dist = torch.tensor([[0.3, 0.1, 0.2]])
    res = evaluate_rank(
        dist,
        torch.tensor([5]),
        torch.tensor([5, 7, 5]),
        torch.tensor([0]),
        torch.tensor([1, 1, 2]),
        max_rank=6)
    # Ranking: 7 (wrong), 5 (cam 2), 5 (cam 1): matches at ranks 2 and 3.
    assert res['mAP'] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert res['mINP'] == pytest.approx(2 / 3)
    np.testing.assert_allclose(res['cmc'], [0, 1, 1, 1, 1, 1])


def test_no_valid_query_raises():
    # The only match shares the query's camera; the rest is junk.
    with pytest.raises(ValueError, match='none of the 1 queries'):
        evaluate_rank(np.zeros((1, 3)), [1], [1, -1, 2], [0], [0, 1, 1])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='g_pids must have shape'):
        evaluate_rank(np.zeros((1, 3)), [1], [1, 2], [0], [0, 1, 1])
    with pytest.raises(ValueError, match='2-D'):
        evaluate_rank(np.zeros(3), [1], [1, 2, 3], [0], [0, 1, 1])
    with pytest.raises(ValueError, match='NaN'):
        evaluate_rank(np.array([[np.nan, 1.0]]), [1], [1, 1], [0], [1, 1])
    with pytest.raises(ValueError, match='max_rank'):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 1], [0], [1, 1], max_rank=0)
