# Copyright (c) jclreid contributors. All rights reserved.
"""k-reciprocal encoding and Jaccard distance (Zhong et al., "Re-ranking
Person Re-identification with k-reciprocal Encoding", CVPR 2017).

This is the one implementation behind both the clustering distance
(:func:`jclreid.clustering.jaccard_distance`) and the evaluation re-ranking
(:func:`jclreid.evaluation.re_ranking`). For ``n`` samples whose rank lists
``rank`` (n, L) start with the sample itself and continue by ascending
distance, with ``N(p, m)`` the first ``m`` entries of ``p``'s rank list
(``p`` included):

1. k-reciprocal sets: ``R(p, m) = {g in N(p, m) : p in N(g, m)}``
   (:func:`reciprocal_mask`).
2. Expansion (:func:`expanded_sets`), **the one rule**:
   ``R*(p) = R(p, main) | R(q, half)`` over the ``q`` in ``R(p, main)``
   whose half set overlaps the main set by *strictly more* than two thirds
   of its own size, ``|R(p, main) & R(q, half)| > 2/3 |R(q, half)|``, as
   in Zhong et al.'s released code (evaluated exactly, in integers:
   ``3 * overlap > 2 * size``).
3. Gaussian encoding (:func:`gaussian_encoding`): ``V_pg = exp(-d(p, g))``
   for ``g`` in ``R*(p)``, zero elsewhere, each row normalised to sum 1,
   stored as CSR (O(n k1) entries).
4. Local query expansion (:func:`query_expansion`): ``V_p <- mean of V_g``
   over ``g`` in ``N(p, qe)``.
5. Jaccard distance through an inverted index over the columns of ``V``
   (:func:`jaccard_sparse`, :func:`jaccard_blocks`):
   ``d_J(p, g) = 1 - sum_j min(V_pj, V_gj) / sum_j max(V_pj, V_gj)
   = 1 - s / (2 - s)`` with ``s = sum_j min(V_pj, V_gj)`` (rows sum to 1),
   computed only for pairs that share a non-zero column.

What legitimately differs between the callers is explicit:

- how many rank-list entries make the sets, the ``neighbourhood``
  convention of :func:`neighbourhood_sizes` (``'zhong'``: self + ``k1``;
  ``'cluster_contrast'``: ``k1`` including self);
- the distance ``d`` of the weights, a ``pair_distance`` callback of
  :func:`k_reciprocal_encoding`: clustering uses ``2 - 2 cos`` of
  L2-normalised features; re-ranking the squared distances divided by
  their row maximum;
- the output: all pairs as a sparse matrix, optionally without those above
  ``max_distance`` (:func:`jaccard_sparse`, clustering), or dense
  query x gallery blocks (:func:`jaccard_blocks`, re-ranking, which then
  mixes in the original distance with its ``lambda``).
"""
from typing import Callable, Iterator, Optional, Tuple

import numpy as np
import scipy.sparse as sp

#: The two conventions of how ``k1`` counts a k-reciprocal set.
NEIGHBOURHOODS = ('zhong', 'cluster_contrast')

#: Elements processed at once by the chunked steps (bounds their memory).
_BUDGET = 1 << 22


def check_neighbourhood(neighbourhood: str) -> None:
    """Raise ``ValueError`` unless ``neighbourhood`` is in
    :data:`NEIGHBOURHOODS`."""
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f'neighbourhood must be one of {NEIGHBOURHOODS}, '
                         f'got {neighbourhood!r}')


def neighbourhood_sizes(k1: int,
                        k2: int,
                        n: int,
                        neighbourhood: str = 'zhong') -> Tuple[int, int, int]:
    """Rank-list entries (the sample itself included) of the main
    reciprocal sets, of the half sets and of the query expansion.

    With ``h = round(k1 / 2)`` (``np.around``, half to even: 7/2 -> 4,
    5/2 -> 2) and every size clipped to ``n``:

    - ``'zhong'`` (Zhong et al.'s re-ranking code): ``k1 + 1``, ``h + 1``
      and ``k2``.
    - ``'cluster_contrast'`` (Cluster Contrast's / SpCL's
      ``compute_jaccard_distance``, whose kNN list holds ``k1`` entries):
      ``k1``, ``h + 1`` and ``min(k2, k1)``.

    Args:
        k1 (int): Size of the reciprocal neighbourhood (>= 1).
        k2 (int): Size of the query expansion (>= 1).
        n (int): Number of samples.
        neighbourhood (str): ``'zhong'`` or ``'cluster_contrast'``.
            Defaults to ``'zhong'``.

    Returns:
        tuple[int, int, int]: ``(main, half, qe)``.
    """
    check_neighbourhood(neighbourhood)
    half = min(int(np.around(k1 / 2)) + 1, n)
    if neighbourhood == 'zhong':
        return min(k1 + 1, n), half, min(k2, n)
    return min(k1, n), half, min(k2, k1, n)


def reciprocal_mask(rank: np.ndarray,
                    size: int,
                    budget: int = _BUDGET) -> np.ndarray:
    """Which of the first ``size`` rank-list entries are k-reciprocal.

    Args:
        rank (ndarray): (n, L) int rank lists, ``L >= size``, each row
            starting with its own index.
        size (int): Entries of ``N(p, size)`` (self included).
        budget (int): Elements processed at once. Defaults to 2**22.

    Returns:
        ndarray: (n, size) bool, ``mask[p, j]`` is True iff
        ``rank[p, j]`` is in ``R(p, size)``, i.e. ``p`` is among the first
        ``size`` entries of ``rank[rank[p, j]]``.
    """
    n = rank.shape[0]
    mask = np.empty((n, size), dtype=bool)
    step = max(1, budget // (size * size))
    for start in range(0, n, step):
        stop = min(start + step, n)
        backward = rank[rank[start:stop, :size], :size]  # (c, size, size)
        mask[start:stop] = (
            backward == np.arange(start, stop)[:, None, None]).any(axis=2)
    return mask


def expanded_sets(rank: np.ndarray,
                  main: int,
                  half: int,
                  budget: int = _BUDGET) -> Tuple[np.ndarray, np.ndarray]:
    """Members of the expanded k-reciprocal sets ``R*(p)``.

    ``R(p, main)`` joined with ``R(q, half)`` for every ``q`` in
    ``R(p, main)`` with ``|R(p, main) & R(q, half)| > 2/3 |R(q, half)|``
    (see the module docstring).

    Args:
        rank (ndarray): (n, L) int rank lists, ``L >= max(main, half)``,
            each row starting with its own index.
        main (int): Entries of the main sets (self included).
        half (int): Entries of the half sets (self included).
        budget (int): Elements processed at once. Defaults to 2**22.

    Returns:
        tuple[ndarray, ndarray]: ``(rows, cols)``, (P, ) int64 each: ``p``
        and the members of ``R*(p)``, sorted by row, then by column,
        without repeats.
    """
    n = rank.shape[0]
    main_ok = reciprocal_mask(rank, main, budget)
    half_ok = reciprocal_mask(rank, half, budget)
    step = max(1, budget // (main * half * main))
    all_rows, all_cols = [], []
    for start in range(0, n, step):
        stop = min(start + step, n)
        forward = rank[start:stop, :main]  # (c, main)
        ok = main_ok[start:stop]
        recip = np.where(ok, forward, -1)  # R(p, main), -1 = not a member
        cand = rank[forward, :half]  # (c, main, half): N(q, half)
        cand_ok = half_ok[forward] & ok[..., None]  # R(q, half), q in R(p)
        in_recip = (cand[..., None] == recip[:, None, None, :]).any(axis=-1)
        overlap = (in_recip & cand_ok).sum(axis=-1)
        accept = 3 * overlap > 2 * cand_ok.sum(axis=-1)  # the > 2/3 rule
        added = np.where(accept[..., None] & cand_ok, cand, -1)
        members = np.concatenate(
            [recip, added.reshape(stop - start, -1)], axis=1)
        members.sort(axis=1)
        new = np.ones(members.shape, dtype=bool)
        new[:, 1:] = members[:, 1:] != members[:, :-1]
        rows, pos = np.nonzero(new & (members >= 0))
        all_rows.append(rows + start)
        all_cols.append(members[rows, pos].astype(np.int64))
    return np.concatenate(all_rows), np.concatenate(all_cols)


def gaussian_encoding(rows: np.ndarray, cols: np.ndarray,
                      pair_dist: np.ndarray, n: int) -> sp.csr_matrix:
    """Row-normalised Gaussian weights ``exp(-d)`` on the given pairs.

    Args:
        rows (ndarray): (P, ) int row of each pair.
        cols (ndarray): (P, ) int column of each pair, no repeated
            ``(row, col)``.
        pair_dist (ndarray): (P, ) distance ``d`` of each pair; the
            exponential is taken in its dtype, then cast to float64.
        n (int): Number of samples.

    Returns:
        scipy.sparse.csr_matrix: (n, n) float64 ``V``, every non-empty row
        summing to 1.
    """
    weights = np.exp(-pair_dist).astype(np.float64)
    enc = sp.csr_matrix((weights, (rows, cols)), shape=(n, n))
    row_sum = np.asarray(enc.sum(axis=1)).ravel()
    return sp.diags(1.0 / row_sum) @ enc


def query_expansion(enc: sp.csr_matrix, rank: np.ndarray,
                    size: int) -> sp.csr_matrix:
    """Local query expansion: row ``p`` <- mean of the rows of
    ``N(p, size)`` (``p`` included); ``size == 1`` leaves ``enc`` as is.

    Args:
        enc (scipy.sparse.csr_matrix): (n, n) encoding ``V``.
        rank (ndarray): (n, L) int rank lists, ``L >= size``.
        size (int): Rows averaged (self included).

    Returns:
        scipy.sparse.csr_matrix: (n, n) expanded encoding, column indices
        sorted.
    """
    n = enc.shape[0]
    if size > 1:
        qe_rows = np.repeat(np.arange(n), size)
        qe = sp.csr_matrix((np.full(n * size, 1.0 / size),
                            (qe_rows, rank[:, :size].ravel())),
                           shape=(n, n))
        enc = (qe @ enc).tocsr()
    enc.sort_indices()
    return enc


def k_reciprocal_encoding(
        rank: np.ndarray, pair_distance: Callable[[np.ndarray, np.ndarray],
                                                  np.ndarray], main: int,
        half: int, qe: int) -> sp.csr_matrix:
    """Steps 1-4 of the module docstring: expanded k-reciprocal sets,
    Gaussian encoding and local query expansion.

    Args:
        rank (ndarray): (n, L) int rank lists, each row starting with its
            own index, ``L >= max(main, half, qe)``.
        pair_distance (callable): ``(rows, cols) -> (P, )`` distances ``d``
            of the weights ``exp(-d)`` for the pairs of the expanded sets.
        main (int): Entries of the main sets, see
            :func:`neighbourhood_sizes`.
        half (int): Entries of the half sets.
        qe (int): Rows averaged by the query expansion.

    Returns:
        scipy.sparse.csr_matrix: (n, n) float64 encoding, rows summing
        to 1, column indices sorted.
    """
    n, length = rank.shape
    if length < max(main, half, qe):
        raise ValueError(f'rank lists of {length} entries are too short '
                         f'for sets of {max(main, half, qe)}')
    rows, cols = expanded_sets(rank, main, half)
    enc = gaussian_encoding(rows, cols, pair_distance(rows, cols), n)
    return query_expansion(enc, rank, qe)


def _min_sum_terms(query: sp.csr_matrix, gallery: sp.csc_matrix, start: int,
                   stop: int) -> Tuple[np.ndarray, np.ndarray]:
    """Terms ``min(V_pj, V_gj)`` for query rows ``start:stop`` against
    every gallery row sharing a column ``j``, as ``key = (p - start) *
    num_gallery + g`` and value, ordered by query row, then column, then
    gallery row (the order in which they are summed)."""
    lo, hi = query.indptr[start], query.indptr[stop]
    cols, vals = query.indices[lo:hi], query.data[lo:hi]
    local = np.repeat(
        np.arange(stop - start), np.diff(query.indptr[start:stop + 1]))
    cnt = np.diff(gallery.indptr)[cols]
    total = int(cnt.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    idx = np.repeat(gallery.indptr[cols], cnt) + offsets
    mins = np.minimum(gallery.data[idx], np.repeat(vals, cnt))
    key = np.repeat(local, cnt) * gallery.shape[0] + gallery.indices[idx]
    return key, mins


def _row_chunks(query: sp.csr_matrix, gallery: sp.csc_matrix,
                per_row: int, budget: int) -> Iterator[Tuple[int, int]]:
    """Consecutive query row ranges whose terms (plus ``per_row`` per
    row) fit ``budget`` elements (at least one row each)."""
    num_query = query.shape[0]
    term_count = np.diff(gallery.indptr)[query.indices]
    cum = np.concatenate([[0], np.cumsum(term_count)])[query.indptr]
    cum = cum + per_row * np.arange(num_query + 1)
    start = 0
    while start < num_query:
        stop = int(np.searchsorted(cum, cum[start] + budget, 'right')) - 1
        stop = min(max(stop, start + 1), num_query)
        yield start, stop
        start = stop


def _jaccard_from_min_sums(s: np.ndarray) -> np.ndarray:
    """``1 - s / (2 - s)`` (rows summing to 1), clipped to [0, 1]."""
    return np.clip(1.0 - s / (2.0 - s), 0.0, 1.0)


def _prepare(query: sp.spmatrix,
             gallery: sp.spmatrix) -> Tuple[sp.csr_matrix, sp.csc_matrix]:
    query = sp.csr_matrix(query)
    query.sort_indices()
    gallery = sp.csc_matrix(gallery)  # column j -> the rows using it
    gallery.sort_indices()
    return query, gallery


def jaccard_blocks(query: sp.spmatrix,
                   gallery: sp.spmatrix,
                   budget: int = _BUDGET
                   ) -> Iterator[Tuple[int, int, np.ndarray]]:
    """Dense Jaccard distances between the rows of two encodings, in
    chunks of query rows (re-ranking).

    Args:
        query (scipy.sparse.spmatrix): (M, n) encoded queries, rows
            summing to 1.
        gallery (scipy.sparse.spmatrix): (N, n) encoded gallery, rows
            summing to 1.
        budget (int): Elements of work and output per chunk.
            Defaults to 2**22.

    Yields:
        tuple[int, int, ndarray]: ``(start, stop, dist)`` with ``dist``
        (stop - start, N) float64 in [0, 1], the distances of query rows
        ``start:stop``; a pair sharing no column is at distance 1.
    """
    num_gallery = gallery.shape[0]
    query, inverted = _prepare(query, gallery)
    for start, stop in _row_chunks(query, inverted, num_gallery, budget):
        key, mins = _min_sum_terms(query, inverted, start, stop)
        s = np.bincount(
            key, weights=mins, minlength=(stop - start) * num_gallery)
        yield start, stop, _jaccard_from_min_sums(s).reshape(
            stop - start, num_gallery)


def jaccard_sparse(enc: sp.spmatrix,
                   max_distance: Optional[float] = None,
                   budget: int = _BUDGET) -> sp.csr_matrix:
    """Sparse Jaccard distances between all rows of one encoding
    (clustering). Memory is O(pairs sharing a column), never n x n.

    Args:
        enc (scipy.sparse.spmatrix): (n, n) encoding, rows summing to 1.
        max_distance (float, optional): Keep only pairs at distance
            ``<= max_distance``. Defaults to None: keep every pair at
            distance < 1.
        budget (int): Summed terms per chunk. Defaults to 2**22.

    Returns:
        scipy.sparse.csr_matrix: (n, n) float64 distances. An absent entry
        means distance 1; stored entries may be exactly 0 (a row and
        itself) and are kept explicitly.
    """
    n = enc.shape[0]
    query, inverted = _prepare(enc, enc)
    indptr, indices, data = [np.zeros(1, dtype=np.int64)], [], []
    for start, stop in _row_chunks(query, inverted, 0, budget):
        key, mins = _min_sum_terms(query, inverted, start, stop)
        pairs, inv = np.unique(key, return_inverse=True)
        dist = _jaccard_from_min_sums(
            np.bincount(inv.ravel(), weights=mins))
        keep = dist < 1.0 if max_distance is None else dist <= max_distance
        pairs = pairs[keep]
        indices.append(pairs % n)
        data.append(dist[keep])
        counts = np.bincount(pairs // n, minlength=stop - start)
        indptr.append(indptr[-1][-1] + np.cumsum(counts))
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices),
                          np.concatenate(indptr)),
                         shape=(n, n))
