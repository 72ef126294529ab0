# Copyright (c) jclreid contributors. All rights reserved.
"""Sparse k-reciprocal Jaccard distance (Zhong et al., CVPR 2017), the
distance JCL clusters with."""
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp
import torch

from jclreid.registry import CLUSTERERS
from .knn import knn_search

NEIGHBOURHOODS = ('zhong', 'cluster_contrast')


def _check_neighbourhood(neighbourhood: str) -> None:
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f'neighbourhood must be one of {NEIGHBOURHOODS}, '
                         f'got {neighbourhood!r}')


def _set_sizes(k1: int, k2: int, n: int, neighbourhood: str):
    """Number of rank-list entries (self included) of the main reciprocal
    sets, of the half sets and of the query expansion, for ``n`` points."""
    if neighbourhood == 'zhong':
        k1 = min(k1, n - 1)
        main = k1 + 1
        qe = min(k2, n)
    else:  # 'cluster_contrast': the rank list holds k1 entries, self incl.
        k1 = min(k1, n)
        main = k1
        qe = min(k2, k1)
    # np.around rounds half to even (3.5 -> 4, 2.5 -> 2), as both codes do.
    half = min(int(np.around(k1 / 2)) + 1, n)
    return main, half, qe


def _reciprocal(rank: np.ndarray, i: int, size: int) -> np.ndarray:
    """Reciprocal neighbours of ``i``: the first ``size`` entries of its
    rank list (itself included) that also have ``i`` among the first
    ``size`` entries of theirs."""
    forward = rank[i, :size]
    backward = rank[forward, :size]
    return forward[(backward == i).any(axis=1)]


def _expanded_sets(rank: np.ndarray, main: int, half: int):
    """(rows, cols) of the expanded k-reciprocal sets: row i lists its
    reciprocal neighbours (sets of ``main`` rank-list entries) plus the
    half sets (``half`` entries) of those neighbours that overlap it by
    more than 2/3."""
    n = rank.shape[0]
    rows, cols = [], []
    for i in range(n):
        recip = _reciprocal(rank, i, main)
        expanded = [recip]
        for cand in recip:
            cand_recip = _reciprocal(rank, cand, half)
            if np.intersect1d(cand_recip, recip, assume_unique=True).size \
                    > 2 / 3 * cand_recip.size:
                expanded.append(cand_recip)
        idx = np.unique(np.concatenate(expanded))
        rows.append(np.full(idx.size, i))
        cols.append(idx)
    return np.concatenate(rows), np.concatenate(cols)


def _pair_cosine(feats: np.ndarray,
                 rows: np.ndarray,
                 cols: np.ndarray,
                 chunk_size: int = 8192) -> np.ndarray:
    """Dot products ``feats[rows[p]] . feats[cols[p]]`` for every pair p,
    in chunks so that memory stays O(chunk_size * D)."""
    out = np.empty(rows.size, dtype=np.float32)
    for start in range(0, rows.size, chunk_size):
        r = rows[start:start + chunk_size]
        c = cols[start:start + chunk_size]
        out[start:start + r.size] = np.einsum('ij,ij->i', feats[r], feats[c])
    return out


def jaccard_distance(features: Union[np.ndarray, torch.Tensor],
                     k1: int = 30,
                     k2: int = 6,
                     backend: str = 'auto',
                     max_distance: Optional[float] = None,
                     neighbourhood: str = 'zhong') -> sp.csr_matrix:
    """Sparse k-reciprocal Jaccard distance between all pairs of features.

    Steps: exact kNN rank list of every point (itself first, faiss);
    k-reciprocal sets expanded with the half-``k1`` sets of their members
    when those overlap by more than 2/3; Gaussian weights ``exp(-d)`` of
    ``d = 2 - 2 cos`` normalised per row (``softmax(-d)`` over the
    expanded set); local query expansion (row i <- mean of the rows of the
    first ``k2`` entries of its rank list, itself included); then
    ``d_J(i, j) = 1 - sum_k min(V_ik, V_jk) / sum_k max(V_ik, V_jk)``
    ``= 1 - s / (2 - s)`` with ``s = sum_k min(V_ik, V_jk)`` (rows sum to
    1), computed only for pairs that share a non-zero column (an inverted
    index). Memory is O(N * k1) for the encoding and O(number of pairs
    within two reciprocal hops) for the output, never N x N.

    The two ``neighbourhood`` conventions differ only in how many
    rank-list entries (``self`` included) make a reciprocal set (the
    weights are Cluster Contrast's ``softmax(-(2 - 2 cos))`` in both;
    Zhong et al.'s ``re_ranking`` itself uses ``exp(-d)`` of squared
    Euclidean distances divided by their column maximum);
    ``h = round(k1 / 2)`` with ``np.around`` (half to even: 7/2 -> 4,
    5/2 -> 2):

    - ``'zhong'`` (default): Zhong et al.'s re-ranking code
      (``re_ranking`` of CVPR 2017): self + ``k1`` neighbours, i.e. the
      forward and backward sets are the first ``k1 + 1`` entries of the
      rank lists and the half sets the first ``h + 1`` entries.
      ``k1`` is clipped to ``N - 1``.
    - ``'cluster_contrast'``: Cluster Contrast's ``compute_jaccard_distance``
      (and SpCL's, which it inherits), whose kNN search returns only ``k1``
      entries including self: the forward and backward sets are the first
      ``k1`` entries (self + ``k1 - 1`` neighbours) while the half sets
      still take the first ``h + 1`` entries, and query expansion uses the
      first ``min(k2, k1)`` entries. ``k1`` is clipped to ``N``.

    The same ``k1`` thus gives a slightly smaller neighbourhood under
    ``'cluster_contrast'``, and distances, hence the right DBSCAN ``eps``,
    shift: an ``eps`` tuned for one convention (Cluster Contrast's 0.6
    was tuned on ``'cluster_contrast'``) is not exact for the other.
    ``'zhong'`` with ``k1 - 1`` is *not* equivalent in general: its half
    sets have ``round((k1 - 1) / 2) + 1`` entries, which equals ``h + 1``
    only when ``k1 % 4`` is 0 or 1 (not for the default ``k1=30``).

    Args:
        features (ndarray | Tensor): (N, D) features.
        k1 (int): Size of the reciprocal neighbourhood, counted as
            ``neighbourhood`` says. Defaults to 30.
        k2 (int): Query-expansion neighbours, self included (1 disables
            it). Defaults to 6.
        backend (str): kNN backend, see :func:`knn_search`.
        max_distance (float, optional): Drop pairs farther than this
            (e.g. DBSCAN's ``eps``) to save memory. Defaults to None (keep
            every pair with distance < 1).
        neighbourhood (str): ``'zhong'`` (self + ``k1`` neighbours) or
            ``'cluster_contrast'`` (``k1`` entries including self), see
            above. Defaults to ``'zhong'``.

    Returns:
        scipy.sparse.csr_matrix: (N, N) distances. An absent entry means
        distance 1; stored entries may be exactly 0 (a point and itself,
        identical neighbourhoods) and are kept explicitly, so scikit-learn's
        DBSCAN on ``metric='precomputed'`` sees them as neighbours.
    """
    _check_neighbourhood(neighbourhood)
    if k1 < 1 or k2 < 1:
        raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
    n = features.shape[0]
    main, half, qe_size = _set_sizes(k1, k2, n, neighbourhood)
    k_search = max(main, half, qe_size)
    _, rank = knn_search(features, k_search, backend=backend)
    # Each point must be its own first neighbour, even with duplicates.
    for i in np.flatnonzero(rank[:, 0] != np.arange(n)):
        others = rank[i][rank[i] != i]
        rank[i] = np.concatenate([[i], others])[:k_search]

    rows, cols = _expanded_sets(rank, main, half)
    # Cosine similarities of the encoded pairs (dot products, normalised).
    feats = features.detach().cpu().float().numpy() if isinstance(
        features, torch.Tensor) else np.asarray(features, dtype=np.float32)
    feats = feats / np.maximum(
        np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    cos = _pair_cosine(feats, rows, cols)
    weights = np.exp(-(2 - 2 * cos)).astype(np.float64)
    enc = sp.csr_matrix((weights, (rows, cols)), shape=(n, n))
    row_sum = np.asarray(enc.sum(axis=1)).ravel()
    enc = sp.diags(1.0 / row_sum) @ enc
    if qe_size > 1:
        # Row i <- mean of the rows of its qe_size nearest (itself incl.).
        qe_rows = np.repeat(np.arange(n), qe_size)
        qe = sp.csr_matrix((np.full(n * qe_size, 1.0 / qe_size),
                            (qe_rows, rank[:, :qe_size].ravel())),
                           shape=(n, n))
        enc = (qe @ enc).tocsr()
    enc.sort_indices()
    enc_csc = enc.tocsc()
    enc_csc.sort_indices()

    out_indptr = [0]
    out_indices, out_data = [], []
    for i in range(n):
        start, stop = enc.indptr[i], enc.indptr[i + 1]
        cols_i, vals_i = enc.indices[start:stop], enc.data[start:stop]
        # All (row r, column c) entries of the columns row i touches.
        c_start, c_stop = enc_csc.indptr[cols_i], enc_csc.indptr[cols_i + 1]
        lengths = c_stop - c_start
        take = np.concatenate(
            [np.arange(a, b) for a, b in zip(c_start, c_stop)])
        other_rows = enc_csc.indices[take]
        mins = np.minimum(enc_csc.data[take], np.repeat(vals_i, lengths))
        uniq, inv = np.unique(other_rows, return_inverse=True)
        sum_min = np.bincount(inv, weights=mins)
        # sum max = |V_i| + |V_j| - sum min, and every row sums to 1.
        dist = 1.0 - sum_min / (2.0 - sum_min)
        dist = np.clip(dist, 0.0, 1.0)
        keep = dist < 1.0 if max_distance is None else dist <= max_distance
        out_indices.append(uniq[keep])
        out_data.append(dist[keep])
        out_indptr.append(out_indptr[-1] + int(keep.sum()))
    return sp.csr_matrix(
        (np.concatenate(out_data).astype(np.float64),
         np.concatenate(out_indices), np.asarray(out_indptr)),
        shape=(n, n))


@CLUSTERERS.register_module()
class JaccardDistance:
    """Callable config wrapper of :func:`jaccard_distance`.

    Args:
        k1 (int): Defaults to 30.
        k2 (int): Defaults to 6.
        backend (str): kNN backend. Defaults to ``'auto'``.
        neighbourhood (str): How ``k1`` counts the reciprocal sets:
            ``'zhong'`` (self + ``k1`` neighbours, Zhong et al.'s
            re-ranking code) or ``'cluster_contrast'`` (``k1`` rank-list
            entries including self, Cluster Contrast's code, on which its
            ``eps=0.6`` was tuned); see :func:`jaccard_distance`. An
            ``eps`` tuned for one is not exact for the other.
            Defaults to ``'zhong'``.
    """

    def __init__(self,
                 k1: int = 30,
                 k2: int = 6,
                 backend: str = 'auto',
                 neighbourhood: str = 'zhong') -> None:
        _check_neighbourhood(neighbourhood)
        self.k1, self.k2, self.backend = k1, k2, backend
        self.neighbourhood = neighbourhood

    def __call__(self, features, max_distance: Optional[float] = None):
        return jaccard_distance(
            features, self.k1, self.k2, self.backend,
            max_distance=max_distance, neighbourhood=self.neighbourhood)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(k1={self.k1}, k2={self.k2}, '
                f"backend='{self.backend}', "
                f"neighbourhood='{self.neighbourhood}')")
