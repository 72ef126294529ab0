# Copyright (c) jclreid contributors. All rights reserved.
"""Sparse k-reciprocal Jaccard distance (Zhong et al., CVPR 2017), the
distance JCL clusters with."""
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp
import torch

from jclreid.registry import CLUSTERERS
from .knn import knn_search


def _reciprocal(rank: np.ndarray, i: int, k: int) -> np.ndarray:
    """k-reciprocal neighbours of ``i``: its k nearest (itself included)
    that also have ``i`` among their k nearest."""
    forward = rank[i, :k + 1]
    backward = rank[forward, :k + 1]
    return forward[(backward == i).any(axis=1)]


def _expanded_sets(rank: np.ndarray, k1: int):
    """(rows, cols) of the expanded k-reciprocal sets: row i lists its
    k1-reciprocal neighbours plus the half-k1 reciprocal sets of those
    neighbours that overlap it by more than 2/3."""
    n = rank.shape[0]
    half = int(np.around(k1 / 2))
    rows, cols = [], []
    for i in range(n):
        recip = _reciprocal(rank, i, k1)
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
                     max_distance: Optional[float] = None) -> sp.csr_matrix:
    """Sparse k-reciprocal Jaccard distance between all pairs of features.

    Steps: exact kNN (``k1 + 1`` neighbours, faiss); k-reciprocal sets
    expanded with the half-``k1`` sets of their members when those overlap
    by more than 2/3; Gaussian weights of ``d = 2 - 2 cos`` normalised per
    row; local query expansion over the ``k2`` nearest neighbours; then
    ``d_J(i, j) = 1 - sum_k min(V_ik, V_jk) / sum_k max(V_ik, V_jk)``
    computed only for pairs that share a non-zero column (an inverted
    index). Memory is O(N * k1) for the encoding and O(number of pairs
    within two reciprocal hops) for the output, never N x N.

    Args:
        features (ndarray | Tensor): (N, D) features.
        k1 (int): Size of the reciprocal neighbourhood. Defaults to 30.
        k2 (int): Query-expansion neighbours (1 disables it).
            Defaults to 6.
        backend (str): kNN backend, see :func:`knn_search`.
        max_distance (float, optional): Drop pairs farther than this
            (e.g. DBSCAN's ``eps``) to save memory. Defaults to None (keep
            every pair with distance < 1).

    Returns:
        scipy.sparse.csr_matrix: (N, N) distances. An absent entry means
        distance 1; stored entries may be exactly 0 (a point and itself,
        identical neighbourhoods) and are kept explicitly, so scikit-learn's
        DBSCAN on ``metric='precomputed'`` sees them as neighbours.
    """
    if k1 < 1 or k2 < 1:
        raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
    n = features.shape[0]
    k1 = min(k1, n - 1)
    k_search = min(max(k1 + 1, k2), n)
    _, rank = knn_search(features, k_search, backend=backend)
    # Each point must be its own first neighbour, even with duplicates.
    for i in np.flatnonzero(rank[:, 0] != np.arange(n)):
        others = rank[i][rank[i] != i]
        rank[i] = np.concatenate([[i], others])[:k_search]

    rows, cols = _expanded_sets(rank, k1)
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
    if k2 > 1:
        # Row i <- mean of the rows of its k2 nearest neighbours.
        qe_rows = np.repeat(np.arange(n), k2)
        qe = sp.csr_matrix((np.full(n * k2, 1.0 / k2),
                            (qe_rows, rank[:, :k2].ravel())),
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
    """

    def __init__(self, k1: int = 30, k2: int = 6,
                 backend: str = 'auto') -> None:
        self.k1, self.k2, self.backend = k1, k2, backend

    def __call__(self, features, max_distance: Optional[float] = None):
        return jaccard_distance(
            features, self.k1, self.k2, self.backend,
            max_distance=max_distance)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(k1={self.k1}, k2={self.k2}, '
                f"backend='{self.backend}')")
