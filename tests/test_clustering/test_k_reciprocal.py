# Copyright (c) jclreid contributors. All rights reserved.
"""Each step of the k-reciprocal core against a direct dense formula."""
import numpy as np
import pytest
import scipy.sparse as sp

from jclreid.clustering.k_reciprocal import (
    check_neighbourhood, expanded_sets, gaussian_encoding, jaccard_blocks,
    jaccard_sparse, k_reciprocal_encoding, neighbourhood_sizes,
    query_expansion, rank_list_values, reciprocal_mask, reciprocal_sets)


def random_ranks(n, seed, dim=4):
    """Full rank lists (self first, then by distance) of random points and
    their distances."""
    rng = np.random.RandomState(seed)
    x = rng.randn(n, dim)
    dist = ((x[:, None] - x[None]) ** 2).sum(-1)
    rank = np.argsort(dist, axis=1, kind='stable')
    assert (rank[:, 0] == np.arange(n)).all()
    return rank, dist


def recip_set(rank, i, size):
    return {j for j in rank[i, :size] if i in rank[j, :size]}


def expanded_dense(rank, main, half, strict=True):
    """R*(p) as a list of sets; ``strict=False`` is the >= variant."""
    out = []
    for p in range(len(rank)):
        r_p = recip_set(rank, p, main)
        members = set(r_p)
        for q in r_p:
            r_q = recip_set(rank, q, half)
            overlap = len(r_p & r_q)
            if (overlap > 2 / 3 * len(r_q) if strict
                    else overlap >= 2 / 3 * len(r_q)):
                members |= r_q
        out.append(members)
    return out


def dense_encoding(rank, dist, main, half, qe):
    n = len(rank)
    v = np.zeros((n, n))
    for p, members in enumerate(expanded_dense(rank, main, half)):
        members = sorted(members)
        w = np.exp(-dist[p, members])
        v[p, members] = w / w.sum()
    return np.stack([v[rank[p, :qe]].mean(0) for p in range(n)])


def dense_jaccard(a, b):
    mins = np.minimum(a[:, None], b[None]).sum(-1)
    maxs = np.maximum(a[:, None], b[None]).sum(-1)
    return 1 - mins / maxs


@pytest.mark.parametrize('k1,k2,n,neighbourhood,expected', [
    (30, 6, 1000, 'zhong', (31, 16, 6)),
    (30, 6, 1000, 'cluster_contrast', (30, 16, 6)),
    (7, 3, 100, 'zhong', (8, 5, 3)),  # round(3.5) = 4
    (5, 3, 100, 'zhong', (6, 3, 3)),  # round(2.5) = 2
    (3, 5, 100, 'cluster_contrast', (3, 3, 3)),  # qe <= k1
    (30, 6, 12, 'zhong', (12, 12, 6)),  # clipped to n
    (30, 20, 12, 'cluster_contrast', (12, 12, 12)),
])
def test_neighbourhood_sizes(k1, k2, n, neighbourhood, expected):
    assert neighbourhood_sizes(k1, k2, n, neighbourhood) == expected


def test_check_neighbourhood():
    check_neighbourhood('zhong')
    with pytest.raises(ValueError, match='neighbourhood'):
        check_neighbourhood('spcl')
    with pytest.raises(ValueError, match='neighbourhood'):
        neighbourhood_sizes(3, 3, 10, 'Zhong')


@pytest.mark.parametrize('size', [1, 3, 6])
def test_reciprocal_mask(size):
    rank, _ = random_ranks(40, seed=size)
    mask = reciprocal_mask(rank, size)
    assert mask.shape == (40, size) and mask[:, 0].all()
    for p in range(40):
        assert set(rank[p, :size][mask[p]]) == recip_set(rank, p, size)
    if size > 1:
        assert not mask.all()  # some neighbours are not reciprocal


def test_reciprocal_sets():
    rank, _ = random_ranks(30, seed=4)
    recip = reciprocal_sets(rank, 5)
    assert recip.has_sorted_indices
    for p in range(30):
        members = recip.indices[recip.indptr[p]:recip.indptr[p + 1]]
        assert set(members) == recip_set(rank, p, 5)
        # data: 1 + the flat position in the first 5 rank-list entries.
        pos = recip.data[recip.indptr[p]:recip.indptr[p + 1]] - 1 - p * 5
        np.testing.assert_array_equal(rank[p, pos], members)


def _lattice_ranks(n, seed):
    """Rank lists of points on a coarse lattice, with duplicates: many
    tied distances, ties broken by index (as the kNN index does)."""
    rng = np.random.RandomState(seed)
    x = rng.randint(0, 3, (n, 2)).astype(float)
    dist = ((x[:, None] - x[None]) ** 2).sum(-1)
    rank = np.array([sorted(range(n), key=lambda j: (j != i, dist[i, j], j))
                     for i in range(n)])
    return rank, dist


@pytest.mark.parametrize('n,main,half,budget', [(1, 1, 1, 1 << 22),
                                                (2, 2, 2, 1),
                                                (5, 5, 3, 7),
                                                (7, 7, 4, 1 << 22)])
def test_expanded_sets_tiny(n, main, half, budget):
    rank, _ = random_ranks(n, seed=n)
    rows, cols = expanded_sets(rank, main, half, budget=budget)
    got = [set(cols[rows == p]) for p in range(n)]
    assert got == expanded_dense(rank, main, half)
    if main == n:  # N <= k1: every point in every set
        assert got == [set(range(n))] * n


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_expanded_sets_ties_and_duplicates(seed):
    rank, _ = _lattice_ranks(40, seed)
    for main, half in ((7, 4), (12, 6)):
        rows, cols = expanded_sets(rank, main, half, budget=97)
        assert [set(cols[rows == p])
                for p in range(40)] == expanded_dense(rank, main, half)


def test_rank_list_values():
    rank, dist = random_ranks(20, seed=5)
    rank = rank[:, :6]
    values = np.take_along_axis(dist, rank, axis=1)
    rows = np.repeat(np.arange(20), 20)
    cols = np.tile(np.arange(20), 20)
    got = rank_list_values(rank, values, rows, cols)
    listed = np.zeros((20, 20), dtype=bool)
    listed[np.arange(20)[:, None], rank] = True
    np.testing.assert_array_equal(np.isnan(got), ~listed.ravel())
    np.testing.assert_array_equal(got[listed.ravel()],
                                  dist.ravel()[listed.ravel()])
    assert rank_list_values(rank, values.astype(np.float32), rows,
                            cols).dtype == np.float32
    assert rank_list_values(rank, rank, rows[:3], cols[:3]).dtype == \
        np.float64


@pytest.mark.parametrize('main,half,seed', [(6, 4, 0), (8, 5, 1), (11, 6, 2),
                                            (4, 4, 3)])
def test_expanded_sets_strict_two_thirds(main, half, seed):
    rank, _ = random_ranks(60, seed)
    rows, cols = expanded_sets(rank, main, half, budget=2000)
    # Sorted by row, then column, no repeats.
    key = rows * 60 + cols
    assert (np.diff(key) > 0).all()
    got = [set(cols[rows == p]) for p in range(60)]
    assert got == expanded_dense(rank, main, half)
    assert any(len(s) > len(recip_set(rank, p, main))
               for p, s in enumerate(got))  # the expansion happens


def test_expansion_rule_is_strict():
    """On data where some overlaps are exactly 2/3 of the half set, the
    >= variant differs and the result follows >."""
    hits = 0
    for seed in range(40):
        rank, _ = random_ranks(30, seed)
        strict = expanded_dense(rank, 6, 3)
        loose = expanded_dense(rank, 6, 3, strict=False)
        if strict == loose:
            continue
        hits += 1
        rows, cols = expanded_sets(rank, 6, 3)
        assert [set(cols[rows == p]) for p in range(30)] == strict
    assert hits > 0


def test_gaussian_encoding():
    rows = np.array([0, 0, 1, 1, 1, 2])
    cols = np.array([0, 2, 0, 1, 2, 2])
    d = np.array([0.0, 0.5, 0.3, 0.0, 1.0, 0.0])
    enc = gaussian_encoding(rows, cols, d, 3)
    assert sp.isspmatrix_csr(enc) or isinstance(enc, sp.csr_array)
    dense = np.zeros((3, 3))
    dense[rows, cols] = np.exp(-d)
    dense /= dense.sum(1, keepdims=True)
    np.testing.assert_allclose(enc.toarray(), dense, rtol=0, atol=1e-15)
    np.testing.assert_allclose(enc.toarray()[0], [1, 0, np.exp(-0.5)] /
                               (1 + np.exp(-0.5)))
    # The exponential is taken in the distances' dtype.
    enc32 = gaussian_encoding(rows, cols, d.astype(np.float32), 3)
    assert enc32.dtype == np.float64
    np.testing.assert_allclose(enc32.toarray(), dense, atol=1e-7)


@pytest.mark.parametrize('size', [1, 2, 4])
def test_query_expansion(size):
    rank, _ = random_ranks(25, seed=7)
    rng = np.random.RandomState(0)
    v = rng.rand(25, 25) * (rng.rand(25, 25) < 0.3)
    v /= np.maximum(v.sum(1, keepdims=True), 1e-12)
    out = query_expansion(sp.csr_matrix(v), rank, size)
    assert out.has_sorted_indices
    expected = np.stack([v[rank[p, :size]].mean(0) for p in range(25)])
    np.testing.assert_allclose(out.toarray(), expected, atol=1e-15)


@pytest.mark.parametrize('main,half,qe', [(6, 4, 3), (9, 5, 1), (5, 3, 5)])
def test_k_reciprocal_encoding(main, half, qe):
    rank, dist = random_ranks(50, seed=main + qe)
    d = dist / dist.max(1, keepdims=True)
    enc = k_reciprocal_encoding(rank, lambda r, c: d[r, c], main, half, qe)
    expected = dense_encoding(rank, d, main, half, qe)
    np.testing.assert_allclose(enc.toarray(), expected, atol=1e-14)
    np.testing.assert_allclose(enc.sum(1), 1, atol=1e-12)
    with pytest.raises(ValueError, match='too short'):
        k_reciprocal_encoding(rank[:, :4], lambda r, c: d[r, c], 6, 3, 2)


def _random_encoding(n, seed, density=0.15):
    rng = np.random.RandomState(seed)
    v = rng.rand(n, n) * (rng.rand(n, n) < density)
    v[np.arange(n), np.arange(n)] += 0.5  # no empty row
    return v / v.sum(1, keepdims=True)


@pytest.mark.parametrize('budget', [1, 300, 1 << 22])
def test_jaccard_blocks(budget):
    v = _random_encoding(40, seed=budget % 7)
    query, gallery = v[:12], v[12:]
    out = np.full((12, 28), np.nan)
    starts = []
    for start, stop, dist in jaccard_blocks(
            sp.csr_matrix(query), sp.csr_matrix(gallery), budget=budget):
        assert dist.shape == (stop - start, 28)
        out[start:stop] = dist
        starts.append(start)
    assert starts == sorted(starts) and starts[0] == 0
    if budget == 1:
        assert len(starts) == 12  # one row per chunk
    expected = dense_jaccard(query, gallery)
    assert (expected == 1).any() and (expected < 1).any()
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize('max_distance', [None, 0.9, 0.97])
def test_jaccard_sparse(max_distance):
    v = _random_encoding(45, seed=3, density=0.05)
    expected = dense_jaccard(v, v)
    got = jaccard_sparse(sp.csr_matrix(v), max_distance, budget=500)
    assert got.shape == (45, 45) and got.has_sorted_indices
    keep = expected < 1 if max_distance is None else expected <= max_distance
    assert 45 <= keep.sum() < 45 * 45
    coo = got.tocoo()
    stored = np.zeros((45, 45), dtype=bool)
    stored[coo.row, coo.col] = True
    np.testing.assert_array_equal(stored, keep)
    np.testing.assert_allclose(coo.data, expected[coo.row, coo.col],
                               atol=1e-12)
    # The diagonal is stored as explicit zeros.
    np.testing.assert_allclose(got.diagonal(), 0, atol=1e-12)
    assert (coo.row == coo.col).sum() == 45


@pytest.mark.parametrize('budget', [1, 40, 1 << 22])
@pytest.mark.parametrize('max_distance', [None, 0.95, 1.0])
def test_jaccard_sparse_blocks_symmetry_and_zeros(budget, max_distance):
    """Any blocking gives the same result; d(p, g) and d(g, p) are the
    same bits; identical rows are stored at an explicit distance 0."""
    v = _random_encoding(30, seed=9, density=0.1)
    v[7] = v[3]  # identical encodings: s = 1, distance exactly 0
    expected = dense_jaccard(v, v)
    got = jaccard_sparse(sp.csr_matrix(v), max_distance, budget=budget)
    ref = jaccard_sparse(sp.csr_matrix(v), max_distance)
    assert (got != ref).nnz == 0 and got.nnz == ref.nnz
    np.testing.assert_array_equal(got.indices, ref.indices)
    dense = np.ones((30, 30))
    coo = got.tocoo()
    dense[coo.row, coo.col] = coo.data
    np.testing.assert_array_equal(dense, dense.T)  # bitwise symmetric
    # Only pairs sharing a column (distance < 1) are ever stored.
    if max_distance is None or max_distance >= 1:
        keep = expected < 1
    else:
        keep = expected <= max_distance
    stored = np.zeros((30, 30), dtype=bool)
    stored[coo.row, coo.col] = True
    np.testing.assert_array_equal(stored, keep)
    np.testing.assert_allclose(coo.data, expected[coo.row, coo.col],
                               atol=1e-12)
    assert got[3, 7] == 0 and got[7, 3] == 0
    assert {(3, 7), (7, 3)} <= set(zip(coo.row.tolist(), coo.col.tolist()))


def test_jaccard_sparse_row_order_does_not_matter():
    """Permuting the samples permutes the distances, bit for bit (the
    min-sums are added in the order of the columns of each row)."""
    v = _random_encoding(35, seed=11, density=0.08)
    perm = np.random.RandomState(0).permutation(35)
    got = jaccard_sparse(sp.csr_matrix(v)).toarray()
    # Rows permuted, columns kept: same column order in every row.
    moved = jaccard_sparse(sp.csr_matrix(v[perm])).toarray()
    np.testing.assert_array_equal(moved, got[perm][:, perm])


def test_jaccard_tiny():
    one = sp.csr_matrix(np.ones((1, 1)))
    got = jaccard_sparse(one)
    assert got.shape == (1, 1) and got.nnz == 1 and got[0, 0] == 0
    blocks = list(jaccard_blocks(one, one))
    assert len(blocks) == 1 and blocks[0][2].shape == (1, 1)
