# Copyright (c) jclreid contributors. All rights reserved.
"""k-reciprocal re-ranking of a query-gallery ranking for evaluation.

Zhong et al., "Re-ranking Person Re-identification with k-reciprocal
Encoding", CVPR 2017, as in the authors' released code (the one shipped by
torchreid and fast-reid, from which published "+RR" numbers come). The
encoding and the Jaccard distance are those of
:mod:`jclreid.clustering.k_reciprocal`, shared with the clustering
distance; what is specific to re-ranking lives here:

- queries and gallery are pooled into one set of ``n = M + N`` samples
  whose distance matrix ``P = [[q_q, q_g], [q_g^T, g_g]]`` is **squared**,
  each column divided by its maximum and the result transposed:
  ``D[i, j] = P[j, i]^2 / max_k P[k, i]^2`` (for symmetric ``q_q`` and
  ``g_g``: each row divided by its maximum), so ``D`` lies in [0, 1];
- rank lists of ``D`` (the sample itself first), main sets of ``k1 + 1``
  entries (self + ``k1``), half sets of ``round(k1 / 2) + 1``
  (``'zhong'`` sizes), expanded when the overlap is ``> 2/3``;
- weights ``exp(-D[i, j])`` normalised per row; local query expansion over
  the first ``k2`` rank-list entries;
- final distance ``(1 - lambda) * d_J + lambda * D`` on the query x gallery
  block.

The weights are sparse (O(n k1) entries) and the Jaccard distance is
accumulated through an inverted index, so apart from the inputs and the
(M, N) output no n x n array is built. :func:`re_ranking_features` also
avoids the n x n input: it computes the distances from features in row
chunks.
"""
from typing import Callable, Tuple

import numpy as np
import torch

from jclreid.clustering.k_reciprocal import (jaccard_blocks,
                                             k_reciprocal_encoding,
                                             neighbourhood_sizes)
from jclreid.utils.array import ArrayLike, to_numpy
from .distance import compute_distance


def _check_params(k1: int, k2: int, lambda_value: float) -> None:
    for name, value in (('k1', k1), ('k2', k2)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f're-ranking: {name} must be an int >= 1, got '
                             f'{value!r}')
    if not 0 <= lambda_value <= 1:
        raise ValueError('re-ranking: lambda_value must be in [0, 1], got '
                         f'{lambda_value!r}')


def _scan_rows(row_block: Callable[[int, int], np.ndarray], n: int,
               num_nn: int, chunk_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rank lists and row maxima of the squares of an implicit n x n
    distance matrix given by ``row_block(start, stop) -> (stop - start, n)``.

    Returns ``neighbours`` (n, num_nn) int64, sorted by squared distance
    (ties by index) with the sample itself forced first, and ``row_max``
    (n, ) float64, the largest squared distance of each row (1 where a row
    is all zeros).
    """
    neighbours = np.empty((n, num_nn), dtype=np.int64)
    row_max = np.empty(n, dtype=np.float64)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        block = np.asarray(row_block(start, stop))
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)
        if np.isnan(block).any():
            raise ValueError('re-ranking: the distances contain NaN (rows '
                             f'{start}-{stop - 1} of the pooled '
                             'query+gallery set)')
        # max(x^2) = max(|x|)^2.
        row_max[start:stop] = np.square(
            np.abs(block).max(axis=1).astype(np.float64))
        # Non-negative distances rank like their squares (kept as they
        # come, cheaper); squaring reorders negative entries.
        if block.min() < 0:
            block = np.square(block.astype(np.float64))
        local = np.arange(stop - start)
        block[local, start + local] = -np.inf  # the sample itself first
        if num_nn < n:
            part = np.argpartition(block, num_nn - 1, axis=1)[:, :num_nn]
        else:
            part = np.broadcast_to(np.arange(n), block.shape)
        values = np.take_along_axis(block, part, axis=1)
        # Sort by distance, ties by index.
        order = np.lexsort((part, values), axis=1)
        neighbours[start:stop] = np.take_along_axis(part, order, axis=1)
    row_max[row_max <= 0] = 1.0
    return neighbours, row_max


def _rerank(row_block: Callable[[int, int], np.ndarray],
            pair_distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
            q_g_dist: np.ndarray, k1: int, k2: int, lambda_value: float,
            chunk_size: int) -> np.ndarray:
    """Shared core: ``row_block(start, stop)`` gives rows of the pooled
    n x n distance matrix (see the module docstring: the transpose of
    ``P``), ``pair_distance(rows, cols)`` single entries of it, both
    unsquared; ``q_g_dist`` its (M, N) query-gallery block (read after
    every row has been scanned)."""
    num_query, num_gallery = q_g_dist.shape
    n = num_query + num_gallery
    main, half, qe = neighbourhood_sizes(k1, k2, n, 'zhong')
    neighbours, row_max = _scan_rows(row_block, n, max(main, half, qe),
                                     chunk_size)

    def scaled(rows, cols):  # D = P^2 / row maximum
        return np.square(pair_distance(rows, cols)) / row_max[rows]

    enc = k_reciprocal_encoding(neighbours, scaled, main, half, qe)
    out = np.empty((num_query, num_gallery), dtype=np.float32)
    for start, stop, jaccard in jaccard_blocks(enc[:num_query],
                                               enc[num_query:]):
        original = np.square(q_g_dist[start:stop].astype(
            np.float64)) / row_max[start:stop, None]
        out[start:stop] = ((1 - lambda_value) * jaccard +
                           lambda_value * original)
    return out


def re_ranking(q_g_dist: ArrayLike,
               q_q_dist: ArrayLike,
               g_g_dist: ArrayLike,
               k1: int = 20,
               k2: int = 6,
               lambda_value: float = 0.3,
               chunk_size: int = 1024) -> np.ndarray:
    """Re-rank query-gallery distances with k-reciprocal encoding.

    Zhong et al.'s re-ranking as in their released code (see the module
    docstring): the given distances are squared and divided by their
    maximum over the pooled set before anything else, so pass the
    distances that code is given (e.g. cosine ``1 - cos`` or squared
    Euclidean, as :func:`compute_distance` returns them). Set sizes are
    clipped to ``n = M + N`` on tiny sets, where the neighbourhoods hold
    everything.

    Args:
        q_g_dist (ndarray | Tensor): (M, N) query-gallery distances.
        q_q_dist (ndarray | Tensor): (M, M) query-query distances.
        g_g_dist (ndarray | Tensor): (N, N) gallery-gallery distances.
        k1 (int): k of the k-reciprocal sets. Defaults to 20.
        k2 (int): Size of the local query expansion. Defaults to 6.
        lambda_value (float): Weight of the original distance.
            Defaults to 0.3.
        chunk_size (int): Rows processed at once. Defaults to 1024.

    Returns:
        ndarray: (M, N) float32 re-ranked distances, in [0, 1].
    """
    _check_params(k1, k2, lambda_value)
    q_g = to_numpy(q_g_dist)
    q_q, g_g = to_numpy(q_q_dist), to_numpy(g_g_dist)
    num_query, num_gallery = q_g.shape
    if q_q.shape != (num_query, num_query) or g_g.shape != (num_gallery,
                                                            num_gallery):
        raise ValueError(
            f're_ranking: with q_g_dist of shape {q_g.shape}, q_q_dist must '
            f'be ({num_query}, {num_query}) and g_g_dist ({num_gallery}, '
            f'{num_gallery}), got {q_q.shape} and {g_g.shape}')
    # Rows of the transpose of the pooled matrix (its off-diagonal blocks
    # swap places and stay q_g, q_g^T): the column maxima of the reference
    # become row maxima. The same matrix when q_q and g_g are symmetric.
    q_q, g_g = q_q.T, g_g.T

    def row_block(start, stop):
        parts = []
        if start < num_query:  # query rows: [q_q | q_g]
            end = min(stop, num_query)
            parts.append(np.concatenate([q_q[start:end], q_g[start:end]], 1))
        if stop > num_query:  # gallery rows: [q_g^T | g_g]
            begin = max(start, num_query) - num_query
            end = stop - num_query
            parts.append(
                np.concatenate([q_g[:, begin:end].T, g_g[begin:end]], 1))
        return np.concatenate(parts)

    def pair_distance(rows, cols):
        out = np.empty(rows.shape, dtype=np.float64)
        r_q, c_q = rows < num_query, cols < num_query
        for r_in_q, c_in_q, fetch in (
            (True, True, lambda r, c: q_q[r, c]),
            (True, False, lambda r, c: q_g[r, c - num_query]),
            (False, True, lambda r, c: q_g[c, r - num_query]),
            (False, False, lambda r, c: g_g[r - num_query, c - num_query])):
            sel = (r_q == r_in_q) & (c_q == c_in_q)
            out[sel] = fetch(rows[sel], cols[sel])
        return out

    return _rerank(row_block, pair_distance, q_g, k1, k2, lambda_value,
                   chunk_size)


def re_ranking_features(query: ArrayLike,
                        gallery: ArrayLike,
                        metric: str = 'cosine',
                        k1: int = 20,
                        k2: int = 6,
                        lambda_value: float = 0.3,
                        chunk_size: int = 1024) -> np.ndarray:
    """Re-rank from features, without any (M + N)^2 array.

    Defined as :func:`re_ranking` on the distances ``compute_distance``
    returns for ``metric`` (query-gallery, query-query, gallery-gallery),
    equal to it up to float rounding: those distances are then squared as
    in Zhong et al.'s code, i.e. the weights and the original-distance term
    use ``(1 - cos)^2`` for ``'cosine'`` and ``||q - g||^4`` for
    ``'euclidean'`` (``compute_distance`` already squares it, as torchreid's
    evaluation does before calling the same re-ranking), each divided by
    its row maximum over the pooled set. The pooled distance matrix is
    computed in row chunks and only the neighbours, the row maxima and the
    (M, N) query-gallery block are kept. Memory is
    O(chunk_size x (M + N) + M x N + (M + N) k1).

    Args:
        query (Tensor | ndarray): (M, D) query features.
        gallery (Tensor | ndarray): (N, D) gallery features.
        metric (str): ``'cosine'`` or ``'euclidean'`` (squared), as in
            ``compute_distance``. Defaults to ``'cosine'``.
        k1 (int): k of the k-reciprocal sets. Defaults to 20.
        k2 (int): Size of the local query expansion. Defaults to 6.
        lambda_value (float): Weight of the original distance.
            Defaults to 0.3.
        chunk_size (int): Rows processed at once. Defaults to 1024.

    Returns:
        ndarray: (M, N) float32 re-ranked distances, in [0, 1].
    """
    _check_params(k1, k2, lambda_value)
    if metric not in ('cosine', 'euclidean'):
        raise ValueError("re_ranking_features: metric must be 'cosine' or "
                         f"'euclidean', got {metric!r}")
    query = torch.as_tensor(to_numpy(query)).float()
    gallery = torch.as_tensor(to_numpy(gallery)).float()
    feats = torch.cat([query, gallery])
    num_query = query.shape[0]
    q_g = np.empty((num_query, gallery.shape[0]), dtype=np.float32)

    def row_block(start, stop):
        block = compute_distance(
            feats[start:stop], feats, metric, chunk_size=chunk_size).numpy()
        if start < num_query:  # keep the query-gallery block
            end = min(stop, num_query)
            q_g[start:end] = block[:end - start, num_query:]
        return block

    if metric == 'cosine':
        unit = torch.nn.functional.normalize(feats, dim=1)
    else:
        unit = feats

    def pair_distance(rows, cols):
        out = np.empty(rows.shape, dtype=np.float64)
        step = max(1, (1 << 24) // max(1, feats.shape[1]))
        for lo in range(0, rows.size, step):
            a = unit[torch.from_numpy(rows[lo:lo + step])]
            b = unit[torch.from_numpy(cols[lo:lo + step])]
            if metric == 'cosine':
                d = (1 - (a * b).sum(1)).clamp_(0, 2)
            else:
                d = ((a - b)**2).sum(1)
            out[lo:lo + step] = d.numpy()
        return out

    # _rerank scans every row (filling q_g) before it reads q_g.
    return _rerank(row_block, pair_distance, q_g, k1, k2, lambda_value,
                   chunk_size)
