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
chunks, one matrix product each. Each chunk is read once for its row
maxima and its rank lists, without sorting whole rows: the
``k``-th smallest minimum of 64-column slices bounds the ``k``-th smallest
entry, and only the entries below that bound (a few slices) are sorted.
The distances of the rank-list entries are kept from the scan, so the
weights need few other pairs. The whole is about one exact kNN search
over the pooled features in time (docs/en/benchmarks.md).
"""
from typing import Callable, Tuple

import numpy as np

from jclreid.clustering.k_reciprocal import (jaccard_blocks,
                                             k_reciprocal_encoding,
                                             neighbourhood_sizes,
                                             rank_list_values)
from jclreid.clustering.knn import pair_dot, unit_rows
from jclreid.utils.array import ArrayLike, to_numpy


def _check_params(k1: int, k2: int, lambda_value: float) -> None:
    for name, value in (('k1', k1), ('k2', k2)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f're-ranking: {name} must be an int >= 1, got '
                             f'{value!r}')
    if not 0 <= lambda_value <= 1:
        raise ValueError('re-ranking: lambda_value must be in [0, 1], got '
                         f'{lambda_value!r}')


def _nearest(block: np.ndarray, num_nn: int,
             start: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rank lists of the rows of ``block`` (rows ``start:`` of an n x n
    matrix): the sample itself (column ``start + r``) first, then the
    ``num_nn - 1`` smallest other entries by value, ties by index.

    Without sorting whole rows: the ``num_nn - 1``-th smallest of the
    minima of 64-column chunks bounds the ``num_nn - 1``-th smallest entry
    from above (those minima are distinct entries), so only the entries
    up to that bound, all in the chunks whose minimum is below it (or in
    the last, partial chunk), are sorted. ``block`` is left as it came.

    Returns:
        tuple[ndarray, ndarray]: columns (rows, num_nn) int64 and their
        positions in the flattened block (rows, num_nn) int64.
    """
    rows, n = block.shape
    local = np.arange(rows)
    own = start + local
    others, width = num_nn - 1, 64
    full = n // width * width
    if others == 0:
        cols = own[:, None]
        return cols, local[:, None] * n + cols
    own_value = block[local, own].copy()
    block[local, own] = np.inf  # leave the sample itself out
    if full // width >= others:
        chunks = block[:, :full].reshape(rows, -1, width)
        minima = chunks.min(axis=2)
        bound = np.partition(minima, others - 1, axis=1)[:, others - 1]
        r, chunk = np.nonzero(minima <= bound[:, None])
        seen = chunks[r, chunk]  # (P, width) candidate chunks
        hit_p, offset = np.nonzero(seen <= bound[r, None])
        tail_r, tail_c = np.nonzero(block[:, full:] <= bound[:, None])
        r = np.concatenate([r[hit_p], tail_r])
        c = np.concatenate([chunk[hit_p] * width + offset, tail_c + full])
    else:  # few columns: sort them all
        r, c = np.divmod(np.arange(rows * n), n)
    other = c != own[r]
    r, c = r[other], c[other]
    order = np.lexsort((c, block[r, c], r))
    picked = order[np.searchsorted(r[order], local)[:, None] +
                   np.arange(others)]
    block[local, own] = own_value
    cols = np.concatenate([own[:, None], c[picked]], axis=1)
    return cols, local[:, None] * n + cols


def _scan_rows(row_block: Callable[[int, int], np.ndarray], n: int,
               num_nn: int, chunk_size: int
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank lists and row maxima of the squares of an implicit n x n
    distance matrix given by ``row_block(start, stop) -> (stop - start, n)``.

    Returns ``neighbours`` (n, num_nn) int64, sorted by squared distance
    (ties by index) with the sample itself forced first, ``values``
    (n, num_nn) float64, their (unsquared) distances, and ``row_max``
    (n, ) float64, the largest squared distance of each row (1 where a row
    is all zeros).
    """
    neighbours = np.empty((n, num_nn), dtype=np.int64)
    values = np.empty((n, num_nn), dtype=np.float64)
    row_max = np.empty(n, dtype=np.float64)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        block = np.asarray(row_block(start, stop))
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)
        high, low = block.max(axis=1), block.min(axis=1)
        if np.isnan(high).any():  # max propagates NaN
            raise ValueError('re-ranking: the distances contain NaN (rows '
                             f'{start}-{stop - 1} of the pooled '
                             'query+gallery set)')
        # max(x^2) = max(|x|)^2.
        row_max[start:stop] = np.square(
            np.maximum(high, -low).astype(np.float64))
        # Non-negative distances rank like their squares (kept as they
        # come, cheaper); squaring reorders negative entries.
        ranked = np.square(block.astype(np.float64)) if low.min() < 0 \
            else block
        neighbours[start:stop], flat = _nearest(ranked, num_nn, start)
        values[start:stop] = block.ravel()[flat]
    row_max[row_max <= 0] = 1.0
    return neighbours, values, row_max


def _rerank(row_block: Callable[[int, int], np.ndarray],
            pair_distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
            q_g_dist: np.ndarray,
            k1: int,
            k2: int,
            lambda_value: float,
            chunk_size: int,
            in_place: bool = False) -> np.ndarray:
    """Shared core: ``row_block(start, stop)`` gives rows of the pooled
    n x n distance matrix (see the module docstring: the transpose of
    ``P``), ``pair_distance(rows, cols)`` single entries of it, both
    unsquared; ``q_g_dist`` its (M, N) query-gallery block (read after
    every row has been scanned; overwritten by the result when
    ``in_place``, a float32 array then). The pairs of the expanded sets
    are mostly rank-list entries, whose distances the scan kept;
    ``pair_distance`` computes the others."""
    num_query, num_gallery = q_g_dist.shape
    n = num_query + num_gallery
    main, half, qe = neighbourhood_sizes(k1, k2, n, 'zhong')
    neighbours, values, row_max = _scan_rows(row_block, n,
                                             max(main, half, qe), chunk_size)

    def scaled(rows, cols):  # D = P^2 / row maximum
        dist = rank_list_values(neighbours, values, rows, cols)
        missing = np.flatnonzero(np.isnan(dist))
        dist[missing] = pair_distance(rows[missing], cols[missing])
        return np.square(dist) / row_max[rows]

    enc = k_reciprocal_encoding(neighbours, scaled, main, half, qe)
    out = q_g_dist if in_place else np.empty(
        (num_query, num_gallery), dtype=np.float32)
    for start, stop, jaccard in jaccard_blocks(enc[:num_query],
                                               enc[num_query:]):
        # (1 - lambda) d_J + lambda D, in place.
        original = q_g_dist[start:stop].astype(np.float64)
        np.square(original, out=original)
        original /= row_max[start:stop, None]
        original *= lambda_value
        jaccard *= 1 - lambda_value
        jaccard += original
        out[start:stop] = jaccard
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
            (False, False, lambda r, c: g_g[r - num_query, c - num_query])
        ):
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
    computed in row chunks (one matrix product each, the same formulas as
    ``compute_distance``: ``1 - cos`` of L2-normalised features clipped to
    [0, 2], ``|x|^2 + |y|^2 - 2 x.y`` clipped at 0), from which the rank
    lists, the row maxima and the (M, N) query-gallery block are kept.
    Memory is O((M + N) D + chunk_size x (M + N) + M x N + (M + N) k1)
    (one (M, N) float32 array: the query-gallery distances, overwritten
    by the result); time is about one exact kNN search over the pooled
    features.

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
    num_query = len(query)
    feats = np.concatenate([
        np.asarray(to_numpy(query), dtype=np.float32),
        np.asarray(to_numpy(gallery), dtype=np.float32)
    ])
    if feats.ndim != 2:
        raise ValueError('re_ranking_features: query and gallery must be '
                         '(num, dim) features')
    n = len(feats)
    q_g = np.empty((num_query, n - num_query), dtype=np.float32)
    if metric == 'cosine':
        feats = unit_rows(feats, copy=False)  # 1 - cos = 1 - unit . unit
    else:  # |x|^2 + |y|^2 - 2 x.y
        sq_norm = np.einsum('ij,ij->i', feats, feats)
    buffer = np.empty((min(chunk_size, n), n), dtype=np.float32)

    def row_block(start, stop):
        block = buffer[:stop - start]
        np.matmul(feats[start:stop], feats.T, out=block)
        if metric == 'cosine':
            np.subtract(1, block, out=block)
            np.clip(block, 0, 2, out=block)
        else:
            block *= -2
            block += sq_norm
            block += sq_norm[start:stop, None]
            np.maximum(block, 0, out=block)
        if start < num_query:  # keep the query-gallery block
            end = min(stop, num_query)
            q_g[start:end] = block[:end - start, num_query:]
        return block

    def pair_distance(rows, cols):  # as row_block, in float32
        dot = pair_dot(feats, rows, cols)
        if metric == 'cosine':
            return np.clip(1 - dot, 0, 2)
        return np.maximum(sq_norm[rows] + sq_norm[cols] - 2 * dot, 0)

    # _rerank scans every row (filling q_g) before it reads q_g, then
    # writes the result over it.
    return _rerank(row_block, pair_distance, q_g, k1, k2, lambda_value,
                   chunk_size, in_place=True)
