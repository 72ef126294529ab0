# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest
import torch

from jclreid.clustering.knn import (knn_search, knn_settings, pair_dot,
                                    self_first, unit_rows)


def _clustered(n=300, dim=16, centres=10, seed=0):
    rng = np.random.RandomState(seed)
    c = rng.randn(centres, dim)
    return (c[rng.randint(0, centres, n)] +
            0.3 * rng.randn(n, dim)).astype(np.float32)


def test_unit_rows_copies_only_when_needed():
    x = _clustered()
    unit = unit_rows(x)
    assert unit is not x and unit.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(unit, x / np.linalg.norm(x, axis=1)[:, None],
                               atol=1e-6)
    assert unit_rows(unit) is unit  # already unit float32: no copy
    assert unit_rows(torch.from_numpy(unit)).base is not None  # shared
    # copy=False normalises a float32 array in place.
    y = x.copy()
    assert unit_rows(y, copy=False) is y
    np.testing.assert_array_equal(y, unit)
    # Other dtypes and zero rows.
    z = np.zeros((3, 4))
    z[1] = [3, 4, 0, 0]
    out = unit_rows(z)
    assert out.dtype == np.float32 and not out[0].any() and not out[2].any()
    np.testing.assert_allclose(out[1], [0.6, 0.8, 0, 0])
    with pytest.raises(ValueError, match='2-D'):
        unit_rows(np.zeros(5))


def test_pair_dot():
    x = _clustered(50)
    rng = np.random.RandomState(1)
    rows, cols = rng.randint(0, 50, 700), rng.randint(0, 50, 700)
    np.testing.assert_allclose(
        pair_dot(x, rows, cols, chunk_size=64), (x[rows] * x[cols]).sum(1),
        rtol=1e-5, atol=1e-5)
    assert pair_dot(x, rows[:0], cols[:0]).shape == (0, )


def test_backends_agree_and_validate():
    x = np.random.RandomState(2).randn(50, 8).astype(np.float32)
    s1, i1 = knn_search(x, 5, backend='faiss')
    s2, i2 = knn_search(torch.from_numpy(x), 5, backend='torch')
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, atol=1e-5)
    assert (i1[:, 0] == np.arange(50)).all()
    assert i1.dtype == np.int64 and s1.dtype == np.float32
    # k is clipped to N.
    assert knn_search(x[:3], 10)[1].shape == (3, 3)
    with pytest.raises(ValueError, match='backend'):
        knn_search(x, 3, backend='annoy')
    with pytest.raises(ValueError, match='index'):
        knn_search(x, 3, index='lsh')
    with pytest.raises(ValueError, match='faiss index'):
        knn_search(x, 3, backend='torch', index='ivf')


@pytest.mark.parametrize('kwargs', [
    dict(index='ivf'),
    dict(index='ivf', nlist=8, nprobe=8),  # every cell: exhaustive
    dict(index='hnsw'),
])
def test_approximate_indexes(kwargs):
    x = _clustered(2000, dim=32, centres=40)
    s_exact, i_exact = knn_search(x, 10)
    sims, idx = knn_search(x, 10, **kwargs)
    assert idx.shape == (2000, 10) and (idx >= 0).all()
    recall = (idx[:, :, None] == i_exact[:, None, :]).any(axis=1).mean()
    assert recall > 0.95
    # Similarities are exact inner products of the returned pairs.
    unit = unit_rows(x)
    np.testing.assert_allclose(
        sims, np.einsum('ijk,ik->ij', unit[idx], unit), atol=1e-5)
    if kwargs.get('nprobe') == kwargs.get('nlist', -1):
        np.testing.assert_allclose(sims, s_exact, atol=1e-6)


def test_self_first():
    sims = np.array([[0.9, 1.0, 0.5], [1.0, 0.8, 0.7], [1.0, 1.0, 0.2],
                     [0.9, 0.8, 0.7]], dtype=np.float32)
    idx = np.array([[1, 0, 2], [1, 0, 3], [3, 2, 0], [0, 1, 2]])
    s, i = self_first(sims, idx)
    # Row 0: itself found second; row 1: already first; row 2: duplicate
    # of 3 ranked first; row 3: itself missing (NaN similarity, last
    # entry dropped).
    np.testing.assert_array_equal(i, [[0, 1, 2], [1, 0, 3], [2, 3, 0],
                                      [3, 0, 1]])
    np.testing.assert_array_equal(
        s[:3], np.float32([[1.0, 0.9, 0.5], [1.0, 0.8, 0.7], [1.0, 1.0, 0.2]]))
    assert np.isnan(s[3, 0]) and (s[3, 1:] == np.float32([0.9, 0.8])).all()
    assert idx[0, 0] == 1  # inputs untouched


def test_self_first_matches_loop_on_duplicates():
    rng = np.random.RandomState(3)
    x = rng.randn(40, 6).astype(np.float32)
    x[20:30] = x[5]  # eleven identical points: ties beyond k
    sims, idx = knn_search(x, 6)
    s, i = self_first(sims, idx)
    for p in range(40):
        others = [j for j in idx[p] if j != p]
        assert list(i[p]) == ([p] + others)[:6]
    assert (i[:, 0] == np.arange(40)).all()
    assert (np.sort(i, axis=1)[:, 1:] != np.sort(i, axis=1)[:, :-1]).all()


def test_knn_settings_name_or_dict():
    assert knn_settings('hnsw') == dict(index='hnsw')
    assert knn_settings(dict(index='ivf', nprobe=8)) == dict(index='ivf',
                                                             nprobe=8)
    with pytest.raises(ValueError, match="one of .*'annoy'"):
        knn_settings('annoy')
    with pytest.raises(ValueError, match=r"unknown knn settings \['nprob'\]"):
        knn_settings(dict(index='ivf', nprob=8))
