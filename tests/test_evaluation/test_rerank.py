# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import (compute_distance, evaluate_rank, re_ranking,
                                re_ranking_features)


def paper_reference(full, num_query, k1, k2, lambda_value):
    """Dense, set-based k-reciprocal re-ranking written from the paper's
    definitions (Zhong et al. 2017, eqs. 1-12), with distances divided by
    their row maximum and V rows normalised to sum 1."""
    n = len(full)
    d = full / full.max(axis=1, keepdims=True)
    # N(p, k): p first, then by distance (ties by index).
    order = [
        sorted(range(n), key=lambda j, i=i: (j != i, d[i][j], j))
        for i in range(n)
    ]
    k1, k2 = min(k1, n - 1), min(k2, n)
    half = max(1, int(np.around(k1 / 2)))

    def near(i, k):
        return set(order[i][:k + 1])

    def recip(i, k):
        return {j for j in near(i, k) if i in near(j, k)}

    v = np.zeros((n, n))
    for i in range(n):
        r_i = recip(i, k1)
        expanded = set(r_i)
        for q in r_i:
            r_q = recip(q, half)
            if 3 * len(r_i & r_q) >= 2 * len(r_q):
                expanded |= r_q
        total = sum(np.exp(-d[i][j]) for j in expanded)
        for j in expanded:
            v[i][j] = np.exp(-d[i][j]) / total
    v_qe = np.array(
        [np.mean([v[j] for j in order[i][:k2]], axis=0) for i in range(n)])
    out = np.zeros((num_query, n - num_query))
    for p in range(num_query):
        for g in range(num_query, n):
            d_j = 1 - (
                np.minimum(v_qe[p], v_qe[g]).sum() /
                np.maximum(v_qe[p], v_qe[g]).sum())
            out[p, g - num_query] = (
                lambda_value * d[p][g] + (1 - lambda_value) * d_j)
    return out


def clustered(seed, num_query, num_gallery, dim=8, noise=0.7):
    rng = np.random.RandomState(seed)
    centers = rng.randn(5, dim)
    q = centers[rng.randint(0, 5,
                            num_query)] + noise * rng.randn(num_query, dim)
    g = centers[rng.randint(
        0, 5, num_gallery)] + noise * rng.randn(num_gallery, dim)
    return q, g


def blocks(q, g, metric='cosine'):
    f = np.concatenate([q, g])
    full = compute_distance(f, f, metric).double().numpy()
    m = len(q)
    return full, (full[:m, m:], full[:m, :m], full[m:, m:])


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
@pytest.mark.parametrize('sizes', [(5, 20, 4, 3), (7, 26, 6, 1),
                                   (3, 8, 20, 6)])
def test_equals_paper_reference(metric, sizes):
    num_query, num_gallery, k1, k2 = sizes
    q, g = clustered(num_query + k1, num_query, num_gallery)
    full, (q_g, q_q, g_g) = blocks(q, g, metric)
    expected = paper_reference(full, num_query, k1, k2, 0.3)
    dense = re_ranking(
        q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=0.3, chunk_size=4)
    assert dense.shape == (num_query, num_gallery)
    assert dense.dtype == np.float32
    np.testing.assert_allclose(dense, expected, atol=1e-6)
    from_feats = re_ranking_features(
        torch.from_numpy(q),
        torch.from_numpy(g),
        metric,
        k1=k1,
        k2=k2,
        lambda_value=0.3,
        chunk_size=5)
    np.testing.assert_allclose(from_feats, expected, atol=1e-5)


def test_lambda_limits_range_and_symmetry():
    q, g = clustered(0, 6, 15)
    full, (q_g, q_q, g_g) = blocks(q, g)
    out = re_ranking(q_g, q_q, g_g, k1=4, k2=2)
    assert (out >= 0).all() and (out <= 1 + 1e-6).all()
    # lambda = 1: the original distance divided by the query's row maximum.
    orig = re_ranking(q_g, q_q, g_g, k1=4, k2=2, lambda_value=1)
    np.testing.assert_allclose(
        orig, q_g / full[:6].max(axis=1, keepdims=True), atol=1e-6)
    # lambda = 0: the Jaccard distance is symmetric, so swapping the roles
    # of query and gallery transposes it.
    jac = re_ranking(q_g, q_q, g_g, k1=4, k2=2, lambda_value=0)
    jac_swapped = re_ranking(q_g.T, g_g, q_q, k1=4, k2=2, lambda_value=0)
    np.testing.assert_allclose(jac, jac_swapped.T, atol=1e-6)
    assert jac.max() <= 1 and jac.min() < 1  # some overlapping encodings


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_improves_map_on_clustered_identities(seed):
    # 15 identities seen by 6 cameras; camera 0 is the query.
    rng = np.random.RandomState(seed)
    centers = rng.randn(15, 16)
    pids = np.repeat(np.arange(15), 6)
    cams = np.tile(np.arange(6), 15)
    feats = centers[pids] + rng.randn(len(pids), 16)
    q = cams == 0

    def score(dist):
        return evaluate_rank(dist, pids[q], pids[~q], cams[q], cams[~q])['mAP']

    before = score(compute_distance(feats[q], feats[~q]))
    after = score(re_ranking_features(feats[q], feats[~q], k1=6, k2=3))
    assert after > before + 0.02


def test_bad_arguments():
    q, g = clustered(0, 3, 5)
    _, (q_g, q_q, g_g) = blocks(q, g)
    with pytest.raises(ValueError, match='g_g_dist'):
        re_ranking(q_g, q_q, q_q)
    with pytest.raises(ValueError, match='k1'):
        re_ranking(q_g, q_q, g_g, k1=0)
    with pytest.raises(ValueError, match='lambda_value'):
        re_ranking_features(q, g, lambda_value=1.5)
    with pytest.raises(ValueError, match='metric'):
        re_ranking_features(q, g, metric='hamming')
