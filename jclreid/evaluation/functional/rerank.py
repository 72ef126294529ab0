# Copyright (c) jclreid contributors. All rights reserved.
"""k-reciprocal re-ranking of a query-gallery ranking for evaluation.

Zhong et al., "Re-ranking Person Re-identification with k-reciprocal
Encoding", CVPR 2017. Queries and gallery are pooled into one set of
``n = M + N`` samples, and for a sample ``p`` (distances ``d``):

- ``N(p, k)``: ``p`` and its ``k`` nearest neighbours (``p`` itself first).
- ``R(p, k) = {g in N(p, k) : p in N(g, k)}``, the k-reciprocal neighbours.
- ``R*(p, k1)``: ``R(p, k1)`` joined with ``R(q, round(k1 / 2))`` of every
  ``q`` in ``R(p, k1)`` for which
  ``|R(p, k1) & R(q, k1 / 2)| >= 2/3 |R(q, k1 / 2)|``.
- ``V_p``: weights ``exp(-d(p, g))`` on ``R*(p, k1)``, zero elsewhere,
  normalised to sum 1 (as in the authors' experiments).
- local query expansion: ``V_p <- mean of V_g over g in N(p, k2 - 1)`` (the
  ``k2`` nearest samples, ``p`` included).
- Jaccard distance
  ``d_J(p, g) = 1 - sum_j min(V_pj, V_gj) / sum_j max(V_pj, V_gj)``.
- final distance ``d* = lambda * d + (1 - lambda) * d_J``.

Distances are first divided by the largest distance of their row (the
query's), so that ``d`` and ``d_J`` both lie in [0, 1]; this keeps each
row's ranking and makes ``lambda`` independent of the feature scale.

The weights ``V`` are sparse (O(n k1) entries) and the Jaccard distance is
accumulated through an inverted index, so apart from the inputs and the
(M, N) output no n x n array is built. :func:`re_ranking_features` also
avoids the n x n input: it computes the distances from features in row
chunks.
"""
from typing import Callable, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch

from .distance import compute_distance
from .rank import to_numpy

ArrayLike = Union[np.ndarray, torch.Tensor]


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
    """Nearest neighbours and row maxima of an implicit n x n distance
    matrix given by ``row_block(start, stop) -> (stop - start, n)``.

    Returns ``neighbours`` (n, num_nn) int64, sorted by distance with the
    sample itself forced first, and ``row_max`` (n, ) float64 (1 where a
    row is all zeros).
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
        row_max[start:stop] = block.max(axis=1)
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


def _reciprocal(neighbours: np.ndarray,
                k: int) -> Tuple[np.ndarray, np.ndarray]:
    """``N(p, k)`` as (n, k + 1) indices and the mask of ``R(p, k)``."""
    n = neighbours.shape[0]
    forward = neighbours[:, :k + 1]
    backward = neighbours[forward, :k + 1]  # (n, k + 1, k + 1)
    mask = (backward == np.arange(n)[:, None, None]).any(axis=2)
    return forward, mask


def _expanded_sets(neighbours: np.ndarray, k1: int,
                   chunk_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pairs ``(p, g)`` with ``g`` in ``R*(p, k1)``
    (sorted by row, unique)."""
    n = neighbours.shape[0]
    half = max(1, min(int(np.around(k1 / 2)), neighbours.shape[1] - 1))
    fwd, fwd_mask = _reciprocal(neighbours, k1)
    hfwd, hmask = _reciprocal(neighbours, half)
    recip = np.where(fwd_mask, fwd, -1)  # R(p, k1), -1 = not a member
    all_rows, all_cols = [], []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        r_p = recip[start:stop]  # (c, k1 + 1)
        cand, cand_ok = fwd[start:stop], fwd_mask[start:stop]
        cand_sets = hfwd[cand]  # (c, k1 + 1, half + 1): R(q, half) ...
        cand_set_ok = hmask[cand] & cand_ok[..., None]  # ... q in R(p, k1)
        in_r_p = (cand_sets[..., None] == r_p[:, None, None, :]).any(-1)
        overlap = (in_r_p & cand_set_ok).sum(-1)
        accept = 3 * overlap >= 2 * cand_set_ok.sum(-1)
        added = np.where(accept[..., None] & cand_set_ok, cand_sets, -1)
        members = np.concatenate([r_p, added.reshape(stop - start, -1)],
                                 axis=1)
        members.sort(axis=1)
        first = np.ones_like(members, dtype=bool)
        first[:, 1:] = members[:, 1:] != members[:, :-1]
        rows, pos = np.nonzero(first & (members >= 0))
        all_rows.append(rows + start)
        all_cols.append(members[rows, pos])
    return np.concatenate(all_rows), np.concatenate(all_cols)


def _final_distance(weights: sp.csr_matrix,
                    q_g_dist: np.ndarray,
                    q_row_max: np.ndarray,
                    lambda_value: float,
                    budget: int = 1 << 22) -> np.ndarray:
    """``lambda * d / row_max + (1 - lambda) * d_J`` between the first
    ``M`` rows of ``weights`` (queries) and the others (gallery), (M, N)
    float32. The Jaccard distance is accumulated through an inverted index
    over the non-zero columns of the gallery rows, in query chunks whose
    work and output fit ``budget`` elements."""
    num_query = q_g_dist.shape[0]
    n = weights.shape[0]
    num_gallery = n - num_query
    query = weights[:num_query].tocsr()
    gallery = weights[num_query:].tocsc()
    q_sum = np.asarray(query.sum(axis=1)).ravel()
    g_sum = np.asarray(gallery.sum(axis=1)).ravel()
    col_count = np.diff(gallery.indptr)
    # Work per query: sum of the gallery counts of its non-zero columns.
    work = (query != 0).astype(np.float64) @ col_count.astype(np.float64)
    out = np.empty((num_query, num_gallery), dtype=np.float32)
    start = 0
    while start < num_query:
        # Grow the chunk while the work and the dense output fit the budget.
        cum = np.cumsum(
            work[start:]) + num_gallery * np.arange(1, num_query - start + 1)
        stop = start + max(1, int(np.searchsorted(cum, budget, 'right')))
        sub = query[start:stop].tocoo()
        cnt = col_count[sub.col]
        total = int(cnt.sum())
        offsets = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        idx = np.repeat(gallery.indptr[sub.col], cnt) + offsets
        mins = np.minimum(np.repeat(sub.data, cnt), gallery.data[idx])
        key = np.repeat(sub.row, cnt) * num_gallery + gallery.indices[idx]
        inter = np.bincount(
            key, weights=mins, minlength=(stop - start) * num_gallery).reshape(
                stop - start, num_gallery)
        union = q_sum[start:stop, None] + g_sum[None] - inter
        jaccard = 1 - inter / np.maximum(union, 1e-12)
        original = q_g_dist[start:stop] / q_row_max[start:stop, None]
        out[start:stop] = (
            lambda_value * original + (1 - lambda_value) * jaccard)
        start = stop
    return out


def _rerank(row_block: Callable[[int, int], np.ndarray],
            pair_distance: Callable[[np.ndarray, np.ndarray],
                                    np.ndarray], q_g_dist: np.ndarray, k1: int,
            k2: int, lambda_value: float, chunk_size: int) -> np.ndarray:
    """Shared core: ``row_block`` gives rows of the pooled n x n distance
    matrix, ``pair_distance(rows, cols)`` single entries of it."""
    num_query, num_gallery = q_g_dist.shape
    n = num_query + num_gallery
    k1 = min(k1, n - 1)
    k2 = min(k2, n)
    neighbours, row_max = _scan_rows(row_block, n, max(k1 + 1, k2), chunk_size)
    rows, cols = _expanded_sets(neighbours, k1, chunk_size)
    dist = pair_distance(rows, cols) / row_max[rows]
    weight = np.exp(-dist)
    weight /= np.bincount(rows, weight, minlength=n)[rows]
    v = sp.csr_matrix((weight, (rows, cols)), shape=(n, n))
    if k2 > 1:  # local query expansion
        expand = sp.csr_matrix(
            (np.full(n * k2, 1.0 / k2),
             (np.repeat(np.arange(n), k2), neighbours[:, :k2].ravel())),
            shape=(n, n))
        v = (expand @ v).tocsr()
    return _final_distance(v, q_g_dist, row_max[:num_query], lambda_value)


def re_ranking(q_g_dist: ArrayLike,
               q_q_dist: ArrayLike,
               g_g_dist: ArrayLike,
               k1: int = 20,
               k2: int = 6,
               lambda_value: float = 0.3,
               chunk_size: int = 1024) -> np.ndarray:
    """Re-rank query-gallery distances with k-reciprocal encoding.

    See the module docstring for the definition. ``k1`` is capped at
    ``n - 1`` and ``k2`` at ``n`` on tiny sets (``n = M + N``), where the
    neighbourhoods hold everything.

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

    Same result as :func:`re_ranking` on the distances of
    :func:`~jclreid.evaluation.functional.compute_distance` (up to float
    rounding), but the pooled distance matrix is computed in row chunks
    and only the neighbours, the row maxima and the (M, N) query-gallery
    block are kept. Memory is O(chunk_size x (M + N) + M x N + (M + N) k1).

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
