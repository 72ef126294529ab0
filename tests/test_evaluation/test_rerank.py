# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.evaluation import (compute_distance, evaluate_rank, re_ranking,
                                re_ranking_features)


def zhong_reference(q_g, q_q, g_g, k1, k2, lambda_value):
    """Dense re-ranking as in Zhong et al.'s released code (the one behind
    published "+RR" numbers), written from its description: pooled matrix,
    squared, each column divided by its maximum, transposed; reciprocal
    sets of k1 + 1 rank-list entries, expansion by the round(k1 / 2) sets
    overlapping by more than 2/3; exp(-d) weights normalised per row;
    query expansion over the first k2 entries; Jaccard via min-sums."""
    m = q_g.shape[0]
    pooled = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float64)**2
    d = (pooled / pooled.max(axis=0, keepdims=True)).T
    n = len(d)
    ranks = np.argsort(d, axis=1, kind='stable')
    assert (ranks[:, 0] == np.arange(n)).all()  # no ties with self

    def reciprocal(i, k):
        return [j for j in ranks[i, :k + 1] if i in ranks[j, :k + 1]]

    half = int(np.around(k1 / 2))
    V = np.zeros((n, n))
    for i in range(n):
        main = reciprocal(i, k1)
        members = list(main)
        for cand in main:
            extra = reciprocal(cand, half)
            if len(set(extra) & set(main)) > 2 / 3 * len(extra):
                members += extra
        members = sorted(set(members))
        w = np.exp(-d[i, members])
        V[i, members] = w / w.sum()
    if k2 != 1:
        V = np.array([V[ranks[i, :k2]].mean(axis=0) for i in range(n)])
    out = np.zeros((m, n - m))
    for p in range(m):
        for g in range(m, n):
            s = np.minimum(V[p], V[g]).sum()
            out[p, g - m] = (1 - lambda_value) * (1 - s / (2 - s)) + \
                lambda_value * d[p, g]
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
@pytest.mark.parametrize('sizes', [(5, 20, 4, 3, 0.3), (7, 26, 6, 1, 0.3),
                                   (3, 8, 20, 6, 0.3), (6, 30, 7, 4, 0.0),
                                   (8, 40, 10, 6, 0.7), (4, 25, 5, 2, 1.0)])
def test_equals_zhong_reference(metric, sizes):
    num_query, num_gallery, k1, k2, lam = sizes
    q, g = clustered(num_query + k1, num_query, num_gallery)
    full, (q_g, q_q, g_g) = blocks(q, g, metric)
    expected = zhong_reference(q_g, q_q, g_g, k1, k2, lam)
    dense = re_ranking(
        q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam, chunk_size=4)
    assert dense.shape == (num_query, num_gallery)
    assert dense.dtype == np.float32
    np.testing.assert_allclose(dense, expected, atol=1e-5, rtol=0)
    # Chunking changes nothing.
    np.testing.assert_allclose(
        re_ranking(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam),
        dense, atol=1e-7, rtol=0)
    # From features: re_ranking on the distances compute_distance gives.
    from_feats = re_ranking_features(
        torch.from_numpy(q),
        torch.from_numpy(g),
        metric,
        k1=k1,
        k2=k2,
        lambda_value=lam,
        chunk_size=5)
    np.testing.assert_allclose(from_feats, expected, atol=1e-5, rtol=0)


def test_default_squares_distances():
    """The reference squares the given distances: feeding the squared
    distances (or the plain ones with a different rule) gives another
    result, so the test above could fail."""
    q, g = clustered(3, 6, 30)
    _, (q_g, q_q, g_g) = blocks(q, g)
    ref = zhong_reference(q_g, q_q, g_g, 6, 3, 0.3)
    out = re_ranking(q_g, q_q, g_g, k1=6, k2=3)
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        re_ranking(np.sqrt(q_g), np.sqrt(q_q), np.sqrt(g_g), k1=6, k2=3),
        zhong_reference(np.sqrt(q_g), np.sqrt(q_q), np.sqrt(g_g), 6, 3, 0.3),
        atol=1e-5, rtol=0)
    assert abs(
        re_ranking(np.sqrt(q_g), np.sqrt(q_q), np.sqrt(g_g), k1=6, k2=3) -
        out).max() > 1e-3


def test_asymmetric_inputs_use_column_maxima():
    """With non-symmetric q_q / g_g the reference divides the columns of the
    pooled matrix by their maxima, then transposes."""
    rng = np.random.RandomState(4)
    q, g = clustered(4, 6, 24)
    _, (q_g, q_q, g_g) = blocks(q, g)
    q_q = q_q * rng.uniform(0.7, 1.3, q_q.shape)
    g_g = g_g * rng.uniform(0.7, 1.3, g_g.shape)
    np.fill_diagonal(q_q, 0)
    np.fill_diagonal(g_g, 0)
    np.testing.assert_allclose(
        re_ranking(q_g, q_q, g_g, k1=5, k2=3, chunk_size=7),
        zhong_reference(q_g, q_q, g_g, 5, 3, 0.3),
        atol=1e-5, rtol=0)


def test_lambda_limits_range_and_symmetry():
    q, g = clustered(0, 6, 15)
    full, (q_g, q_q, g_g) = blocks(q, g)
    out = re_ranking(q_g, q_q, g_g, k1=4, k2=2)
    assert (out >= 0).all() and (out <= 1 + 1e-6).all()
    # lambda = 1: the squared original distance divided by the maximum
    # squared distance of the query's row of the pooled set.
    orig = re_ranking(q_g, q_q, g_g, k1=4, k2=2, lambda_value=1)
    np.testing.assert_allclose(
        orig, q_g**2 / (full[:6]**2).max(axis=1, keepdims=True), atol=1e-6)
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


def test_negative_entries_ranked_by_their_squares():
    """The reference squares before ranking, so a slightly negative
    distance ranks by its magnitude."""
    q, g = clustered(6, 5, 30, noise=0.3)
    _, (q_g, q_q, g_g) = blocks(q, g)
    q_g, q_q, g_g = q_g - 0.05, q_q - 0.05, g_g - 0.05
    np.fill_diagonal(q_q, 0)
    np.fill_diagonal(g_g, 0)
    assert (q_g < 0).any() and (g_g < 0).any()
    np.testing.assert_allclose(
        re_ranking(q_g, q_q, g_g, k1=6, k2=3),
        zhong_reference(q_g, q_q, g_g, 6, 3, 0.3),
        atol=1e-5, rtol=0)


@pytest.mark.parametrize('n,rows,num_nn', [(2000, 40, 21), (100, 30, 21),
                                           (130, 40, 5), (64 * 21, 10, 22),
                                           (500, 50, 1), (700, 20, 700)])
def test_nearest_equals_sorting(n, rows, num_nn):
    """The rank lists of the scan (chunk-minimum bound, then a sort of the
    entries below it) equal a full sort: itself first, then by value,
    ties by index."""
    from jclreid.evaluation.functional.rerank import _nearest
    rng = np.random.RandomState(n + rows)
    block = rng.rand(rows, n).astype(np.float32)
    block[:, ::7] = block[:, 3:4]  # ties
    block[:, 5] = 0  # a column at distance 0 from everything
    kept = block.copy()
    cols, flat = _nearest(block, num_nn, start=17)
    np.testing.assert_array_equal(block, kept)  # left as it came
    own = 17 + np.arange(rows)
    for r in range(rows):
        others = sorted((j for j in range(n) if j != own[r]),
                        key=lambda j: (block[r, j], j))
        assert list(cols[r]) == [own[r]] + others[:num_nn - 1]
    np.testing.assert_array_equal(block.ravel()[flat],
                                  np.take_along_axis(block, cols, axis=1))


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_equals_zhong_reference_many_columns(metric):
    """Enough samples that the scan bounds its rank lists by chunk minima
    (n // 64 >= k1 + 1)."""
    q, g = clustered(11, 20, 330, dim=6)
    _, (q_g, q_q, g_g) = blocks(q, g, metric)
    expected = zhong_reference(q_g, q_q, g_g, 4, 3, 0.3)
    np.testing.assert_allclose(
        re_ranking(q_g, q_q, g_g, k1=4, k2=3, chunk_size=64), expected,
        atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        re_ranking_features(q, g, metric, k1=4, k2=3, chunk_size=100),
        expected, atol=1e-5, rtol=0)
