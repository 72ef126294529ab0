# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from jclreid.clustering import jaccard_distance, knn_search


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


def test_knn_backends_agree():
    x = np.random.RandomState(2).randn(50, 8).astype(np.float32)
    s1, i1 = knn_search(x, 5, backend='faiss')
    s2, i2 = knn_search(torch.from_numpy(x), 5, backend='torch')
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, atol=1e-5)
    assert (i1[:, 0] == np.arange(50)).all()
    with pytest.raises(ValueError, match='backend'):
        knn_search(x, 3, backend='annoy')
