# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import evaluate_rank


def reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank):
    """Textbook evaluator, independent of the fast one: a full stable
    argsort of every query row, then one pass along the ranking."""
    cmc_total = [0.0] * max_rank
    aps, inps = [], []
    for i in range(len(q_pids)):
        hits = []
        for j in np.argsort(dist[i], kind='stable').tolist():
            junk = g_pids[j] == -1 or (g_pids[j] == q_pids[i]
                                       and g_cams[j] == q_cams[i])
            if not junk:
                hits.append(g_pids[j] == q_pids[i])
        if not any(hits):
            continue
        for r in range(hits.index(True), max_rank):
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
    if valid == 0:
        return None
    return ([c / valid
             for c in cmc_total], sum(aps) / valid, sum(inps) / valid, valid)


def assert_matches_reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank,
                             **kwargs):
    expected = reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank)
    if expected is None:
        with pytest.raises(ValueError, match='none of the'):
            evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank,
                          **kwargs)
        return None
    res = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank,
                        **kwargs)
    cmc, m_ap, m_inp, valid = expected
    assert res['num_valid_queries'] == valid
    assert res['num_skipped_queries'] == len(q_pids) - valid
    assert res['cmc'].shape == (max_rank, )
    np.testing.assert_allclose(res['cmc'], cmc, rtol=0, atol=1e-6)
    assert res['mAP'] == pytest.approx(m_ap, rel=0, abs=1e-6)
    assert res['mINP'] == pytest.approx(m_inp, rel=0, abs=1e-6)
    return res


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
def test_matches_reference(seed, chunk_size):
    dist, q_pids, g_pids, q_cams, g_cams = random_case(seed)
    res = assert_matches_reference(
        dist, q_pids, g_pids, q_cams, g_cams, 20, chunk_size=chunk_size)
    assert res['num_skipped_queries'] >= 2
    assert 0 < res['mINP'] <= res['mAP'] <= res['cmc'][-1] <= 1


@pytest.mark.parametrize('seed', range(8))
def test_random_problems_with_ties(seed):
    """Sizes from 1 x 1 up, distances rounded to a few levels (many ties,
    broken by gallery index), much junk, queries without a valid match,
    max_rank beyond the gallery, several dtypes and chunk sizes."""
    rng = np.random.RandomState(100 + seed)
    for _ in range(25):
        nq, ng = rng.randint(1, 30), rng.randint(1, 90)
        num_pids, num_cams = rng.randint(1, 8), rng.randint(1, 4)
        q_pids = rng.randint(-1, num_pids, nq)
        q_cams = rng.randint(0, num_cams, nq)
        g_pids = rng.randint(-1, num_pids, ng)
        g_cams = rng.randint(0, num_cams, ng)
        levels = rng.choice([1, 2, 3, 6, 10**4])
        dtype = rng.choice(['float32', 'float64', 'float16', 'int64'])
        dist = (rng.randint(0, levels, (nq, ng)) / 7).astype(dtype)
        max_rank = int(rng.randint(1, 2 * ng + 2))
        assert_matches_reference(
            dist,
            q_pids,
            g_pids,
            q_cams,
            g_cams,
            max_rank,
            chunk_size=int(rng.randint(1, 12)))


def test_realistic_block_sizes_and_layouts():
    """Clustered features (sparse candidates) and noise (dense candidates),
    row-major, column-major and torch inputs, ties from rounding."""
    rng = np.random.RandomState(7)
    nq, ng, num_pids, num_cams = 60, 400, 30, 6
    q_pids = rng.randint(1, num_pids + 1, nq)
    q_cams = rng.randint(0, num_cams, nq)
    g_pids = rng.randint(0, num_pids + 1, ng)
    g_cams = rng.randint(0, num_cams, ng)
    g_pids[rng.rand(ng) < 0.1] = -1
    centers = rng.randn(num_pids + 1, 16)
    for noise in (0.3, 5.0):
        q = centers[q_pids] + noise * rng.randn(nq, 16)
        g = centers[np.maximum(g_pids, 0)] + noise * rng.randn(ng, 16)
        dist = ((q[:, None] - g[None])**2).sum(-1).astype(np.float32)
        for d in (dist, np.asfortranarray(dist), np.round(dist, 0)):
            assert_matches_reference(
                d, q_pids, g_pids, q_cams, g_cams, 50, chunk_size=16)
        res = evaluate_rank(
            torch.from_numpy(dist),
            torch.from_numpy(q_pids),
            torch.from_numpy(g_pids),
            torch.from_numpy(q_cams),
            torch.from_numpy(g_cams),
            max_rank=50)
        expected = reference(dist, q_pids, g_pids, q_cams, g_cams, 50)
        assert res['mAP'] == pytest.approx(expected[1], abs=1e-6)


def test_ties_follow_gallery_index():
    # All distances equal: the ranking is the gallery order. Query pid 1,
    # cam 0 -> kept: g1 (pid 2), g2 (pid 1, cam 1), g4 (pid 3), g5 (pid 1).
    g_pids = [1, 2, 1, -1, 3, 1]
    g_cams = [0, 0, 1, 1, 1, 2]
    res = evaluate_rank(np.ones((1, 6)), [1], g_pids, [0], g_cams, 3)
    assert res['mAP'] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert res['mINP'] == pytest.approx(2 / 4)
    np.testing.assert_allclose(res['cmc'], [0, 1, 1])
    # -0.0 equals 0.0, infinities are ordinary distances.
    dist = np.array([[0.0, -0.0, np.inf, -np.inf, 0.0, np.inf]])
    assert_matches_reference(dist, [1], g_pids, [0], g_cams, 6)


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
    # An all-junk gallery, and a junk (pid -1) query.
    with pytest.raises(ValueError, match='none of the 2 queries'):
        evaluate_rank(
            np.zeros((2, 3)), [1, -1], [-1, -1, -1], [0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match='none of the 0 queries'):
        evaluate_rank(np.zeros((0, 3)), [], [1, 1, 2], [], [0, 1, 1])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='g_pids must have shape'):
        evaluate_rank(np.zeros((1, 3)), [1], [1, 2], [0], [0, 1, 1])
    with pytest.raises(ValueError, match='2-D'):
        evaluate_rank(np.zeros(3), [1], [1, 2, 3], [0], [0, 1, 1])
    with pytest.raises(ValueError, match=r'NaN \(query rows 2-2\)'):
        dist = np.ones((3, 2))
        dist[2, 1] = np.nan
        evaluate_rank(dist, [1, 1, 1], [1, 1], [0, 0, 0], [1, 1], chunk_size=2)
    with pytest.raises(ValueError, match='max_rank'):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 1], [0], [1, 1], max_rank=0)
    with pytest.raises(ValueError, match='chunk_size'):
        evaluate_rank(np.zeros((1, 2)), [1], [1, 1], [0], [1, 1], chunk_size=0)
    with pytest.raises(ValueError, match='must hold integers'):
        evaluate_rank(np.zeros((1, 2)), [1.5], [1, 1], [0], [1, 1])
