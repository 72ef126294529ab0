# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from jclreid.clustering import JaccardDistance, jaccard_distance, knn_search
from jclreid.clustering.base import BaseDistance


def dense_reference(x, k1, k2):
    """Straightforward dense k-reciprocal Jaccard distance."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    dist = 2 - 2 * x @ x.T
    # Ties broken like the kNN index: by similarity, then index.
    rank = np.array([
        sorted(range(n), key=lambda j: (j != i, dist[i, j], j))
        for i in range(n)
    ])

    def recip(i, k):
        fwd = rank[i, :k + 1]
        return [j for j in fwd if i in rank[j, :k + 1]]

    V = np.zeros((n, n))
    for i in range(n):
        r = recip(i, k1)
        exp = set(r)
        for c in r:
            rc = recip(c, int(np.around(k1 / 2)))
            if len(set(rc) & set(r)) > 2 / 3 * len(rc):
                exp |= set(rc)
        exp = sorted(exp)
        w = np.exp(-dist[i, exp])
        V[i, exp] = w / w.sum()
    if k2 > 1:
        V = np.stack([V[rank[i, :k2]].mean(0) for i in range(n)])
    out = np.ones((n, n))
    for i in range(n):
        for j in range(n):
            mn = np.minimum(V[i], V[j]).sum()
            mx = np.maximum(V[i], V[j]).sum()
            out[i, j] = 1 - mn / mx
    return out


def _blobs(n_per=12, k=6, dim=16, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, dim)
    return np.concatenate(
        [c + 0.4 * rng.randn(n_per, dim) for c in centers]).astype(np.float32)


@pytest.mark.parametrize('k1,k2', [(8, 3), (10, 1)])
def test_matches_dense_reference(k1, k2):
    x = _blobs()
    sparse = jaccard_distance(x, k1=k1, k2=k2)
    assert sp.issparse(sparse) and sparse.shape == (72, 72)
    dense = np.ones((72, 72))
    coo = sparse.tocoo()
    dense[coo.row, coo.col] = coo.data
    np.testing.assert_allclose(dense, dense_reference(x, k1, k2), atol=1e-5)
    # Self distance is an explicit zero.
    assert np.allclose(sparse.diagonal(), 0)
    assert sparse.nnz >= 72


def dense_reference_convention(x, k1, k2, neighbourhood, rank=None):
    """Dense k-reciprocal Jaccard distance written from the two
    conventions' definitions.

    ``'zhong'``: rank lists hold self + k1 neighbours, reciprocal sets use
    k1 + 1 entries, half sets round(k1 / 2) + 1 entries.
    ``'cluster_contrast'``: the kNN list holds only k1 entries (self
    included), so reciprocal sets use k1 entries, half sets still
    round(k1 / 2) + 1 entries, query expansion the first k2 of the k1.
    Python's round, like np.around, rounds half to even.
    """
    x = x.astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    d = 2 - 2 * x @ x.T
    # Full rank lists, self first, ties by index (as the kNN index does
    # but for exact ties), unless given.
    if rank is None:
        rank = [sorted(range(n), key=lambda j: (j != i, d[i, j], j))
                for i in range(n)]
    # Rank-list entries (self included) of each kind of set.
    if neighbourhood == 'zhong':
        main, half, qe = k1 + 1, round(k1 / 2) + 1, k2
    else:
        main, half, qe = k1, round(k1 / 2) + 1, min(k2, k1)

    def first(i, m):
        return rank[i][:m]

    def reciprocal(i, m):
        return [j for j in first(i, m) if i in first(j, m)]

    V = np.zeros((n, n))
    for i in range(n):
        r = reciprocal(i, main)
        members = set(r)
        for c in r:
            rc = reciprocal(c, half)
            if len(set(rc) & set(r)) > 2 / 3 * len(rc):
                members |= set(rc)
        members = sorted(members)
        logits = -d[i, members]
        V[i, members] = np.exp(logits) / np.exp(logits).sum()  # softmax(-d)
    if qe > 1:
        V = np.stack([V[first(i, qe)].mean(axis=0) for i in range(n)])
    mins = np.minimum(V[:, None, :], V[None, :, :]).sum(-1)
    maxs = np.maximum(V[:, None, :], V[None, :, :]).sum(-1)
    return 1 - mins / maxs


def _sphere_blobs(n, num_blobs, dim, seed):
    rng = np.random.RandomState(seed)
    centers = rng.randn(num_blobs, dim)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    labels = rng.randint(0, num_blobs, n)
    x = centers[labels] + 0.25 * rng.randn(n, dim)
    return x.astype(np.float32)


def _densify(sparse):
    dense = np.ones(sparse.shape)
    coo = sparse.tocoo()
    dense[coo.row, coo.col] = coo.data
    return dense


@pytest.mark.parametrize('neighbourhood', ['zhong', 'cluster_contrast'])
@pytest.mark.parametrize('k1', [4, 7, 12])
@pytest.mark.parametrize('k2', [1, 3])
def test_conventions_match_dense_reference(neighbourhood, k1, k2):
    seed = 10 * k1 + k2
    n = 60 + (seed * 7) % 61  # 60..120 points
    x = _sphere_blobs(n, num_blobs=3 + k1 % 4, dim=8, seed=seed)
    sparse = jaccard_distance(x, k1=k1, k2=k2, neighbourhood=neighbourhood)
    assert sparse.shape == (n, n)
    np.testing.assert_allclose(
        _densify(sparse),
        dense_reference_convention(x, k1, k2, neighbourhood),
        atol=1e-5)
    assert np.allclose(sparse.diagonal(), 0)


@pytest.mark.parametrize('neighbourhood', ['zhong', 'cluster_contrast'])
def test_conventions_k2_above_k1(neighbourhood):
    # Cluster Contrast's rank list has only k1 entries: its query expansion
    # averages min(k2, k1) rows.
    x = _sphere_blobs(64, num_blobs=3, dim=8, seed=5)
    sparse = jaccard_distance(x, k1=3, k2=5, neighbourhood=neighbourhood)
    np.testing.assert_allclose(
        _densify(sparse), dense_reference_convention(x, 3, 5, neighbourhood),
        atol=1e-5)


def test_reference_conventions_differ_and_zhong_default():
    x = _sphere_blobs(90, num_blobs=4, dim=8, seed=3)
    zhong = jaccard_distance(x, k1=7, k2=3)
    cc = jaccard_distance(x, k1=7, k2=3, neighbourhood='cluster_contrast')
    assert (zhong != jaccard_distance(
        x, k1=7, k2=3, neighbourhood='zhong')).nnz == 0
    assert abs(_densify(zhong) - _densify(cc)).max() > 1e-3


@pytest.mark.parametrize('k1,same', [(12, True), (5, True), (30, False),
                                     (7, False)])
def test_cluster_contrast_vs_zhong_k1_minus_one(k1, same):
    """'zhong' with k1 - 1 has the same main sets as 'cluster_contrast'
    with k1, but its half sets round((k1 - 1) / 2) + 1 equal
    round(k1 / 2) + 1 only when k1 % 4 is 0 or 1."""
    x = _sphere_blobs(100, num_blobs=4, dim=8, seed=k1)
    cc = _densify(jaccard_distance(
        x, k1=k1, k2=3, neighbourhood='cluster_contrast'))
    zhong = _densify(jaccard_distance(x, k1=k1 - 1, k2=3))
    if same:
        np.testing.assert_allclose(cc, zhong, atol=1e-12)
    else:
        assert abs(cc - zhong).max() > 1e-3


def test_invalid_neighbourhood():
    x = _sphere_blobs(20, num_blobs=2, dim=4, seed=0)
    with pytest.raises(ValueError, match='neighbourhood'):
        jaccard_distance(x, k1=4, k2=2, neighbourhood='spcl')
    with pytest.raises(ValueError, match='neighbourhood'):
        JaccardDistance(neighbourhood='Zhong')
    dist = JaccardDistance(k1=4, k2=2, neighbourhood='cluster_contrast')
    assert "neighbourhood='cluster_contrast'" in repr(dist)
    assert "neighbourhood='zhong'" in repr(JaccardDistance())
    assert (dist(x) != jaccard_distance(
        x, k1=4, k2=2, neighbourhood='cluster_contrast')).nnz == 0


def test_distance_contract_and_repr():
    dist = JaccardDistance()
    assert isinstance(dist, BaseDistance)
    assert repr(dist) == ("JaccardDistance(k1=30, k2=6, backend='auto', "
                          "neighbourhood='zhong', knn='exact')")
    assert repr(JaccardDistance(k1=20, k2=1, backend='torch')) == (
        "JaccardDistance(k1=20, k2=1, backend='torch', "
        "neighbourhood='zhong', knn='exact')")


def test_tiny_set_neighbourhoods_hold_everything():
    # N <= k1: every point is in every reciprocal set, so the result is
    # the same whatever the half-set size.
    x = _sphere_blobs(12, num_blobs=2, dim=4, seed=1)
    for neighbourhood in ('zhong', 'cluster_contrast'):
        np.testing.assert_allclose(
            _densify(jaccard_distance(
                x, k1=30, k2=3, neighbourhood=neighbourhood)),
            dense_reference_convention(x, 11, 3, 'zhong'),
            atol=1e-5)


def test_sparse_memory_and_max_distance():
    x = _blobs(n_per=20, k=50, dim=32, seed=1)
    n = len(x)
    d = jaccard_distance(x, k1=10, k2=3)
    # Only pairs sharing a k-reciprocal neighbour are stored: bounded by
    # the two-hop neighbourhood, far below N x N.
    assert d.nnz < n * n / 10
    assert np.diff(d.indptr).max() <= 3 * 10 * 3 * 10
    cut = jaccard_distance(x, k1=10, k2=3, max_distance=0.5)
    assert cut.nnz < d.nnz and cut.data.max() <= 0.5
    t = jaccard_distance(torch.from_numpy(x), k1=10, k2=3)
    assert (t != d).nnz == 0


def test_duplicates_and_ties_match_dense_reference():
    """Exact duplicates (each point must still come first in its own
    list) and many tied distances. The kNN index orders exact ties its
    own way: the reference takes the index's lists, with the point put
    first."""
    rng = np.random.RandomState(7)
    x = rng.randint(0, 3, (70, 4)).astype(np.float32) + 0.5  # a lattice
    x[40:50] = x[3]
    for k1, k2 in ((6, 3), (10, 1)):
        _, idx = knn_search(x, k1 + 1)
        rank = [[p] + [j for j in idx[p] if j != p][:k1]
                for p in range(70)]
        assert sum(idx[p][0] != p for p in range(70)) > 0  # duplicates
        np.testing.assert_allclose(
            _densify(jaccard_distance(x, k1=k1, k2=k2)),
            dense_reference_convention(x, k1, k2, 'zhong', rank), atol=1e-5)


def test_knn_setting():
    x = _sphere_blobs(300, num_blobs=6, dim=16, seed=2)
    exact = jaccard_distance(x, k1=8, k2=3)
    # Scanning every IVF cell is an exact search.
    ivf = jaccard_distance(x, k1=8, k2=3,
                           knn=dict(index='ivf', nlist=4, nprobe=4))
    np.testing.assert_allclose(_densify(ivf), _densify(exact), atol=1e-6)
    hnsw = JaccardDistance(k1=8, k2=3, knn='hnsw')
    assert "knn='hnsw'" in repr(hnsw)
    assert abs(_densify(hnsw(x)) - _densify(exact)).mean() < 1e-3
    with pytest.raises(ValueError, match='knn index'):
        JaccardDistance(knn='annoy')
    with pytest.raises(ValueError, match='unknown knn'):
        jaccard_distance(x, knn=dict(index='ivf', probes=3))


def _reid_like(num_ids=30, per_id=12, num_cams=6, dim=64, seed=0):
    """Identities in look-alike pairs, a camera bias shared by all, a
    per identity-and-camera view, isotropic noise (unit rows)."""
    rng = np.random.RandomState(seed)
    looks = rng.randn(num_ids // 2, dim)
    centres = looks.repeat(2, 0) + 0.7 * rng.randn(num_ids, dim)
    pids = np.repeat(np.arange(num_ids), per_id)
    cams = rng.randint(0, num_cams, pids.size)
    cam_dirs = rng.randn(num_cams, dim)
    views = rng.randn(num_ids, num_cams, dim)
    x = (centres[pids] + 0.5 * cam_dirs[cams] + 0.5 * views[pids, cams] +
         0.6 * rng.randn(pids.size, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), pids, cams


@pytest.mark.parametrize('seed', [0, 1])
def test_label_generator_labels_equal_dense_formula(seed):
    """The pseudo labels of the default recipe (k1=30, k2=6, DBSCAN
    eps=0.6, min_samples=4, camera filter) on re-ID-like features are
    those of the dense formula, label for label."""
    from jclreid.clustering import LabelGenerator
    from jclreid.clustering.dbscan import DBSCANClusterer
    from jclreid.clustering.filters import CameraAwareFilter
    x, pids, cams = _reid_like(seed=seed)
    labels, summary = LabelGenerator()(x, cams)
    dense = dense_reference_convention(x, 30, 6, 'zhong')
    expected, _ = CameraAwareFilter()(DBSCANClusterer()(dense), cams)
    np.testing.assert_array_equal(labels, expected)
    assert summary['num_clusters'] > 5 and (labels >= 0).mean() > 0.5


def test_large_sets_normalise_rows_as_gathered(monkeypatch):
    """Above the copy limit the weights divide each gathered row by its
    norm instead of normalising a copy: the same bits."""
    import jclreid.clustering.jaccard as jaccard_module
    x = 3 * _sphere_blobs(150, num_blobs=5, dim=12, seed=4)
    copied = jaccard_distance(x, k1=8, k2=3)
    monkeypatch.setattr(jaccard_module, '_COPY_LIMIT', 0)
    gathered = jaccard_distance(x, k1=8, k2=3)
    np.testing.assert_array_equal(gathered.indices, copied.indices)
    np.testing.assert_array_equal(gathered.data, copied.data)
