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
   (:func:`reciprocal_sets`, :func:`reciprocal_mask`).
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

No step loops over the samples in Python: the sets are sparse indicator
matrices (reciprocity is ``F * F^T`` element-wise for the forward sets
``F``; the overlaps of step 2 are ``M H^T`` on the pattern of ``M``; the
expansion is the pattern of ``M + A H``), the weights and the query
expansion sparse products, and the Jaccard min-sums a join of the query
entries with the inverted index, each term ``min(V_pj, V_gj)`` added by
one ``bincount`` per block of rows. Every ``s`` is summed in ascending
``j`` whatever the blocking, so results do not depend on it, bit for bit.
Work is O(n main half) for the sets and O(sum_j c_j^2) for the Jaccard
distance (``c_j`` the entries of column ``j``, halved by symmetry in
:func:`jaccard_sparse`); memory O(n k1) plus a bounded block.
"""
from typing import Callable, Iterator, Optional, Tuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

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


def _rank_matrix(rank: np.ndarray, size: int) -> sp.csr_matrix:
    """(n, n) CSR holding, in row ``p``, the first ``size`` entries of
    ``p``'s rank list with data ``1 + p * size + j`` (``j`` the position in
    the list), column indices sorted."""
    n = rank.shape[0]
    flat = np.arange(1, n * size + 1, dtype=np.int64)
    forward = sp.csr_matrix(
        (flat, np.ascontiguousarray(rank[:, :size]).ravel(),
         np.arange(0, n * size + 1, size)),
        shape=(n, n))
    forward.sort_indices()
    return forward


def _pattern(mat: sp.csr_matrix) -> sp.csr_matrix:
    """The non-zero pattern of ``mat`` as int32 ones (same indices)."""
    return sp.csr_matrix((np.ones(mat.nnz, dtype=np.int32), mat.indices,
                          mat.indptr),
                         shape=mat.shape)


def reciprocal_sets(rank: np.ndarray, size: int) -> sp.csr_matrix:
    """k-reciprocal sets ``R(p, size)`` as a sparse matrix.

    ``g`` is in ``R(p, size)`` iff ``g`` is among the first ``size``
    entries of ``p``'s rank list and ``p`` among the first ``size`` of
    ``g``'s: the forward sets ``F`` (row ``p`` holds ``N(p, size)``)
    intersected with their transpose, ``F * F^T`` element-wise, one sparse
    operation over the ``n * size`` pairs (no per-sample loop).

    Args:
        rank (ndarray): (n, L) int rank lists, ``L >= size``, each row
            starting with its own index, no repeated entry in a row.
        size (int): Entries of ``N(p, size)`` (self included).

    Returns:
        scipy.sparse.csr_matrix: (n, n), row ``p`` holding the members of
        ``R(p, size)`` (column indices sorted), each with data
        ``1 + p * size + j`` where ``j`` is its position in ``p``'s rank
        list.
    """
    forward = _rank_matrix(rank, size)
    backward = _pattern(forward).T.tocsr()  # (p, g): p in N(g, size)
    recip = forward.multiply(backward).tocsr()
    recip.sort_indices()
    return recip


def reciprocal_mask(rank: np.ndarray, size: int) -> np.ndarray:
    """Which of the first ``size`` rank-list entries are k-reciprocal.

    Args:
        rank (ndarray): (n, L) int rank lists, ``L >= size``, each row
            starting with its own index.
        size (int): Entries of ``N(p, size)`` (self included).

    Returns:
        ndarray: (n, size) bool, ``mask[p, j]`` is True iff
        ``rank[p, j]`` is in ``R(p, size)``, i.e. ``p`` is among the first
        ``size`` entries of ``rank[rank[p, j]]``.
    """
    mask = np.zeros(rank.shape[0] * size, dtype=bool)
    mask[reciprocal_sets(rank, size).data - 1] = True
    return mask.reshape(rank.shape[0], size)


def expanded_sets(rank: np.ndarray,
                  main: int,
                  half: int,
                  budget: int = _BUDGET) -> Tuple[np.ndarray, np.ndarray]:
    """Members of the expanded k-reciprocal sets ``R*(p)``.

    ``R(p, main)`` joined with ``R(q, half)`` for every ``q`` in
    ``R(p, main)`` with ``|R(p, main) & R(q, half)| > 2/3 |R(q, half)|``
    (see the module docstring), with sparse indicator matrices ``M``
    (``R(p, main)``) and ``H`` (``R(q, half)``): the overlaps are the
    entries of ``M H^T`` on the pattern of ``M``, the accepted pairs form
    ``A`` and ``R*`` is the pattern of ``M + A H``. Work and memory are
    O(n * main * half).

    Args:
        rank (ndarray): (n, L) int rank lists, ``L >= max(main, half)``,
            each row starting with its own index, no repeated entry in a
            row.
        main (int): Entries of the main sets (self included).
        half (int): Entries of the half sets (self included).
        budget (int): Elements of the overlap products computed at once
            (rows of ``M`` per block: ``budget // (main * half)``).
            Defaults to 2**22.

    Returns:
        tuple[ndarray, ndarray]: ``(rows, cols)``, (P, ) int64 each: ``p``
        and the members of ``R*(p)``, sorted by row, then by column,
        without repeats.
    """
    n = rank.shape[0]
    recip = _pattern(reciprocal_sets(rank, main))
    halves = _pattern(reciprocal_sets(rank, half))
    halves_t = halves.T.tocsr()  # (g, q): g in R(q, half)
    half_size = np.diff(halves.indptr)
    step = max(1, budget // (main * half))
    all_rows, all_cols = [], []
    for start in range(0, n, step):
        block = recip[start:min(start + step, n)]
        # (p, q) for q in R(p, main): |R(p, main) & R(q, half)| (>= 1: q).
        overlap = block.multiply(block @ halves_t).tocsr()
        overlap.sort_indices()
        accept = 3 * overlap.data > 2 * half_size[overlap.indices]
        accepted = sp.csr_matrix((accept.astype(np.int32), overlap.indices,
                                  overlap.indptr),
                                 shape=overlap.shape)
        members = (block + accepted @ halves).tocsr()
        members.sum_duplicates()  # canonical: sorted, no repeats
        rows = np.repeat(
            np.arange(start, start + block.shape[0]), np.diff(members.indptr))
        all_rows.append(rows.astype(np.int64))
        all_cols.append(members.indices.astype(np.int64))
    return np.concatenate(all_rows), np.concatenate(all_cols)


def rank_list_values(rank: np.ndarray, values: np.ndarray, rows: np.ndarray,
                     cols: np.ndarray) -> np.ndarray:
    """Values stored with the rank lists, read at given pairs.

    The pairs of the expanded sets are mostly rank-list entries, whose
    distance the neighbour search has already computed: reading it back
    (sorted keys ``p * n + g``, one binary search per pair) avoids
    gathering two feature rows per pair.

    Args:
        rank (ndarray): (n, L) int rank lists, no repeated entry in a row.
        values (ndarray): (n, L) a value per rank-list entry (e.g. the
            similarity of ``p`` and ``rank[p, j]``).
        rows (ndarray): (P, ) int ``p`` of each pair.
        cols (ndarray): (P, ) int ``g`` of each pair.

    Returns:
        ndarray: (P, ) ``values[p, j]`` where ``rank[p, j] == g``, NaN
        where ``g`` is not in ``p``'s list (float, ``values``' dtype when
        floating).
    """
    n = rank.shape[0]
    order = np.argsort(rank, axis=1)
    keys = (np.arange(n, dtype=np.int64)[:, None] * n +
            np.take_along_axis(rank, order, axis=1)).ravel()
    sorted_values = np.take_along_axis(values, order, axis=1).ravel()
    wanted = rows.astype(np.int64) * n + cols
    pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    dtype = values.dtype if np.issubdtype(values.dtype,
                                          np.floating) else np.float64
    return np.where(keys[pos] == wanted, sorted_values[pos],
                    np.nan).astype(dtype, copy=False)


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


def _ragged_range(begin: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``concatenate([arange(b, b + c) for b, c in zip(begin, count)])``
    without a Python loop."""
    ends = np.cumsum(count)
    return np.repeat(begin - (ends - count), count) + np.arange(
        ends[-1] if ends.size else 0)


class _ColumnJoin:
    """Pairs of rows sharing a column of the encodings: the terms
    ``min(V_pj, V_gj)`` of the min-sums ``s(p, g) = sum_j min(V_pj, V_gj)``
    (rows summing to 1, so ``d_J = 1 - s / (2 - s)``).

    Each query entry ``(p, j)`` is joined with the gallery rows ``g`` of
    column ``j`` (an inverted index: the CSC form of the gallery). Without
    a gallery, the query is joined with itself and only with the ``g >= p``
    (the symmetric half: ``s(g, p)`` is the same sum in the same order),
    its rows taken in ``order`` (e.g. one where consecutive rows share
    columns, so that a block of rows meets few distinct ``g``). The terms
    of a row come ordered by column, then ``g``: each ``s`` is summed in
    ascending ``j``, whatever the blocking or the order of the rows.
    """

    def __init__(self,
                 query: sp.spmatrix,
                 gallery: Optional[sp.spmatrix] = None,
                 order: Optional[np.ndarray] = None) -> None:
        query = sp.csr_matrix(query)
        query.sort_indices()
        self.order = order
        if gallery is None:
            # CSC positions of the CSR entries (a transposition, O(nnz)).
            entry = sp.csr_matrix(
                (np.arange(query.nnz, dtype=np.int64), query.indices,
                 query.indptr),
                shape=query.shape).tocsc()
            self.inv_indptr, self.inv_rows = entry.indptr, entry.indices
            self.inv_data = query.data[entry.data]
            begin = np.empty(query.nnz, dtype=np.int64)
            begin[entry.data] = np.arange(query.nnz)  # g == p
            del entry
            if order is not None:  # the rows of query in that order
                lengths = np.diff(query.indptr)[order]
                picked = _ragged_range(query.indptr[order], lengths)
                begin = begin[picked]
                query = sp.csr_matrix(
                    (query.data[picked], query.indices[picked],
                     np.concatenate([[0], np.cumsum(lengths)])),
                    shape=query.shape)
                del picked
            self.begin = begin
            self.num_gallery = query.shape[0]
        else:
            inv = sp.csc_matrix(gallery)  # column j -> the rows using it
            inv.sort_indices()
            self.inv_indptr, self.inv_rows = inv.indptr, inv.indices
            self.inv_data = inv.data
            self.begin = self.inv_indptr[query.indices]
            self.num_gallery = gallery.shape[0]
        self.query = query
        self.count = self.inv_indptr[query.indices + 1] - self.begin
        # Terms before each query row.
        self.row_terms = np.concatenate([[0], np.cumsum(self.count)
                                         ])[query.indptr]

    def terms(self, start: int,
              stop: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row, g, min)`` of the terms of query rows ``start:stop``:
        ``row`` local (``p - start``), ordered by row, column, ``g``."""
        lo, hi = self.query.indptr[start], self.query.indptr[stop]
        count = self.count[lo:hi]
        idx = _ragged_range(self.begin[lo:hi], count)
        mins = np.minimum(self.inv_data[idx],
                          np.repeat(self.query.data[lo:hi], count))
        gallery = self.inv_rows[idx]
        del idx
        row = np.repeat(
            np.repeat(
                np.arange(stop - start, dtype=np.int32),
                np.diff(self.query.indptr[start:stop + 1])), count)
        return row, gallery, mins

    def blocks(self,
               term_budget: int,
               dense_budget: int,
               width: Optional[int] = None) -> Iterator[Tuple[int, int]]:
        """Consecutive query row ranges with at most ``term_budget`` terms
        and at most ``dense_budget`` elements in a (rows x ``width``)
        accumulator; ``width=None``: as wide as the distinct gallery rows
        met, bounded by ``min(gallery rows, terms)``. At least one row
        each."""
        cum = self.row_terms
        num_query = cum.size - 1
        start = 0
        while start < num_query:
            stop = int(np.searchsorted(cum, cum[start] + term_budget,
                                       'right')) - 1
            stop = min(max(stop, start + 1), num_query)
            while stop > start + 1 and (stop - start) * (
                    width or min(self.num_gallery, cum[stop] - cum[start])
            ) > dense_budget:
                stop = start + (stop - start) // 2
            yield start, stop
            start = stop


def _jaccard_from_min_sums(s: np.ndarray) -> np.ndarray:
    """``1 - s / (2 - s)`` (rows summing to 1), clipped to [0, 1]; in
    place (``s`` is overwritten)."""
    out = np.subtract(2.0, s)
    np.divide(s, out, out=s)
    np.subtract(1.0, s, out=s)
    return np.clip(s, 0.0, 1.0, out=s)


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
    join = _ColumnJoin(query, gallery)
    for start, stop in join.blocks(budget, budget, width=num_gallery):
        row, col, mins = join.terms(start, stop)
        key = row.astype(np.int64) * num_gallery + col
        s = np.bincount(
            key, weights=mins, minlength=(stop - start) * num_gallery)
        yield start, stop, _jaccard_from_min_sums(s).reshape(
            stop - start, num_gallery)


def _min_sum_floor(max_distance: Optional[float]) -> float:
    """A lower bound on ``s`` of the pairs at distance ``<= max_distance``
    (``d_J <= t`` iff ``s >= 2 (1 - t) / (2 - t)``), lowered by a margin
    far above rounding; 0 when every touched pair may be kept."""
    if max_distance is None or max_distance >= 1:
        return 0.0
    t = max(float(max_distance), 0.0)
    return 2 * (1 - t) / (2 - t) * (1 - 1e-9) - 1e-12


def jaccard_sparse(enc: sp.spmatrix,
                   max_distance: Optional[float] = None,
                   budget: int = _BUDGET) -> sp.csr_matrix:
    """Sparse Jaccard distances between all rows of one encoding
    (clustering). Memory is O(budget + stored pairs), never n x n.

    Only pairs ``g >= p`` are summed (the distance is symmetric and
    ``s(g, p)`` would be the same sum in the same order). Rows are taken
    in reverse Cuthill-McKee order of the encoding's graph, so that a
    block of consecutive rows shares columns; in each block the gallery
    rows met are numbered compactly (a marker array) and the terms
    accumulated with one ``bincount`` into a dense (rows x distinct
    gallery rows) array, from which the pairs within ``max_distance`` are
    read; the lower triangle is their transpose. The result does not
    depend on the order or the blocking, bit for bit.

    Args:
        enc (scipy.sparse.spmatrix): (n, n) encoding, rows summing to 1,
            all stored values positive.
        max_distance (float, optional): Keep only pairs at distance
            ``<= max_distance``. Defaults to None: keep every pair at
            distance < 1.
        budget (int): Terms (and accumulator elements) per block.
            Defaults to 2**22.

    Returns:
        scipy.sparse.csr_matrix: (n, n) float64 distances, column indices
        sorted. An absent entry means distance 1; stored entries may be
        exactly 0 (a row and itself) and are kept explicitly.
    """
    n = enc.shape[0]
    enc = sp.csr_matrix(enc)
    join = _ColumnJoin(enc, order=reverse_cuthill_mckee(enc, False))
    floor = _min_sum_floor(max_distance)
    marker = np.zeros(n, dtype=np.int64)
    up_rows, up_cols, up_dist = [], [], []
    for start, stop in join.blocks(budget // 2, budget):
        row, col, mins = join.terms(start, stop)
        marker[col] = 1
        met = np.flatnonzero(marker)  # distinct gallery rows, sorted
        marker[met] = np.arange(met.size)
        key = row * np.int64(met.size) + marker[col]
        marker[met] = 0
        del row, col
        s = np.bincount(key, weights=mins,
                        minlength=(stop - start) * met.size)
        del key, mins
        # Every term is positive: s > 0 exactly for the pairs sharing a
        # column.
        found = np.flatnonzero(s > floor)
        dist = _jaccard_from_min_sums(s[found])
        keep = dist < 1.0 if max_distance is None else \
            dist <= max_distance
        found, dist = found[keep], dist[keep]
        up_rows.append(join.order[found // met.size + start])
        up_cols.append(met[found % met.size])
        up_dist.append(dist)
    rows, cols = np.concatenate(up_rows), np.concatenate(up_cols)
    dist = np.concatenate(up_dist)
    # The lower triangle mirrors the upper one; coo -> csr sorts the
    # columns of each row and keeps explicit zeros.
    mirror = rows != cols
    out = sp.coo_matrix((np.concatenate([dist, dist[mirror]]),
                         (np.concatenate([rows, cols[mirror]]),
                          np.concatenate([cols, rows[mirror]]))),
                        shape=(n, n)).tocsr()
    out.sort_indices()
    return out
