# Copyright (c) jclreid contributors. All rights reserved.
"""Ranking evaluation (CMC, mAP, mINP) under the Market-1501 protocol."""
import numpy as np

from jclreid.utils.array import ArrayLike, to_numpy


def _ids(x: ArrayLike, name: str, length: int) -> np.ndarray:
    x = to_numpy(x)
    if x.shape != (length, ):
        raise ValueError(f'evaluate_rank: {name} must have shape ({length},) '
                         f'to match the distance matrix, got {x.shape}')
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.array_equal(x, np.round(x)):
            raise ValueError(f'evaluate_rank: {name} must hold integers, got '
                             f'dtype {x.dtype}')
    return x.astype(np.int64, copy=False)


def _match_ranks(block: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 match: np.ndarray, junk_cols: np.ndarray) -> tuple:
    """Ranks of the true matches of a block of query rows, without sorting
    the rows.

    Args:
        block (ndarray): (B, G) C-contiguous distances, no NaN.
        rows (ndarray): Row of every same-identity (row, gallery entry)
            pair, ascending.
        cols (ndarray): Gallery index of every pair.
        match (ndarray): Whether the pair is a true match (another camera);
            the others are removed from the ranking.
        junk_cols (ndarray): Gallery indices of the junk entries (pid -1).

    Returns:
        tuple[ndarray, ndarray]: The row and the 1-based rank among the kept
        gallery entries of every true match, grouped by row, ranks ascending
        within a row.
    """
    num_rows, num_g = block.shape
    m_rows, m_cols = rows[match], cols[match]
    if m_rows.size == 0:
        return m_rows, m_rows.copy()
    m_dist = block[m_rows, m_cols]
    num_rel = np.bincount(m_rows, minlength=num_rows)
    m_end = np.cumsum(num_rel)
    m_start = m_end - num_rel
    has = num_rel > 0
    # Candidates: the kept entries, matches included, not farther than the
    # row's farthest match (only they can come before a match).
    last = np.zeros(num_rows, dtype=block.dtype)
    last[has] = np.maximum.reduceat(m_dist, m_start[has])
    mask = block <= last[:, None]
    mask[~has] = False
    if junk_cols.size:
        mask[:, junk_cols] = False
    mask[rows[~match], cols[~match]] = False  # same identity and camera
    flat = np.flatnonzero(mask)  # grouped by row, in gallery order
    del mask
    dist = block.ravel()
    seg = np.searchsorted(flat, np.arange(num_rows + 1) * num_g)
    # ahead[p]: the candidates strictly closer than match p, found in the
    # sorted distances of its row's candidates (a sort of these values
    # only, much cheaper than an argsort of the row).
    srt = dist[flat]
    ahead = np.empty(m_dist.size, dtype=np.intp)
    for lo, hi, m_lo, m_hi in zip(seg[:-1].tolist(), seg[1:].tolist(),
                                  m_start.tolist(), m_end.tolist()):
        if m_hi > m_lo:
            row_srt = srt[lo:hi]
            row_srt.sort()
            ahead[m_lo:m_hi] = row_srt.searchsorted(m_dist[m_lo:m_hi])
    # Ties: srt[seg_r + ahead[p]] is the first candidate at match p's
    # distance (p or another). If the next one is at that distance too, the
    # candidates at that distance come before p iff their gallery index is
    # smaller (the order of a stable sort): count them among the row's
    # candidates left of p's column.
    after = seg[m_rows] + ahead + 1
    tied = np.flatnonzero(after < seg[m_rows + 1])
    tied = tied[srt[after[tied]] == m_dist[tied]]
    left = np.searchsorted(flat, m_rows[tied] * num_g + m_cols[tied])
    for p, lo, hi in zip(tied.tolist(), seg[m_rows[tied]].tolist(),
                         left.tolist()):
        ahead[p] += np.count_nonzero(dist[flat[lo:hi]] == m_dist[p])
    # Ascending ranks within each row: one sort of (row, rank) keys.
    key = m_rows * (num_g + 1) + ahead + 1
    key.sort()
    return m_rows, key - m_rows * (num_g + 1)


def evaluate_rank(distmat: ArrayLike,
                  q_pids: ArrayLike,
                  g_pids: ArrayLike,
                  q_camids: ArrayLike,
                  g_camids: ArrayLike,
                  max_rank: int = 50,
                  chunk_size: int = 256) -> dict:
    """CMC, mAP and mINP of a query-gallery distance matrix.

    The Market-1501 protocol: for each query, the gallery entries with the
    same identity *and* the same camera are removed, as are junk entries
    (gallery pid ``-1``); distractors (any other pid, e.g. ``0``) stay as
    negatives. A query left with no true match is skipped and counted. With
    ``r_1 < ... < r_m`` the (1-based) ranks of the ``m`` true matches among
    the remaining gallery entries:

    - ``AP = mean_j (j / r_j)``, the mean over matches of the precision at
      each match; ``mAP`` is the mean over valid queries.
    - ``INP = m / r_m`` (the hardest match); ``mINP`` is its mean.
    - ``cmc[k - 1]`` is the fraction of valid queries with ``r_1 <= k``
      (so the curve is clipped at 1 after the first match).

    Tied distances are ordered by gallery index, as a stable sort would
    order them. No row is sorted: per query, only the distances of the kept
    entries not farther than its farthest true match are (a small part of
    the row for useful features), and the rank of each match is found in
    them by binary search. Memory is O(chunk_size x num_gallery). On a
    Market-1501-sized 3,368 x 15,913 float32 matrix this takes about 5% of
    the time of ``np.argsort`` on the matrix, about 25% for random features
    (``tools/analysis_tools/benchmark_eval.py``).

    Args:
        distmat (ndarray | Tensor): (num_query, num_gallery) distances,
            smaller is closer. Not copied or modified.
        q_pids (ndarray | Tensor): (num_query, ) query identities.
        g_pids (ndarray | Tensor): (num_gallery, ) gallery identities, ``-1``
            for junk.
        q_camids (ndarray | Tensor): (num_query, ) query cameras.
        g_camids (ndarray | Tensor): (num_gallery, ) gallery cameras.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        chunk_size (int): Query rows processed at once. Defaults to 256.

    Returns:
        dict: ``cmc`` (ndarray, (max_rank, ), float64), ``mAP`` and ``mINP``
        (floats, fractions in [0, 1]), ``num_valid_queries`` and
        ``num_skipped_queries`` (ints).

    Raises:
        ValueError: If the shapes disagree, a distance is NaN, or no query
            has a valid match in the gallery.
    """
    distmat = to_numpy(distmat)
    if distmat.ndim != 2:
        raise ValueError('evaluate_rank: distmat must be 2-D (num_query, '
                         f'num_gallery), got shape {distmat.shape}')
    if not isinstance(max_rank, (int, np.integer)) or max_rank < 1:
        raise ValueError(f'evaluate_rank: max_rank must be an int >= 1, got '
                         f'{max_rank!r}')
    if chunk_size < 1:
        raise ValueError(f'evaluate_rank: chunk_size must be >= 1, got '
                         f'{chunk_size}')
    num_q, num_g = distmat.shape
    q_pids = _ids(q_pids, 'q_pids', num_q)
    q_camids = _ids(q_camids, 'q_camids', num_q)
    g_pids = _ids(g_pids, 'g_pids', num_g)
    g_camids = _ids(g_camids, 'g_camids', num_g)

    # The same-identity gallery entries of query i are
    # by_pid[first[i]:first[i] + num_same[i]]; junk (pid -1) never matches.
    by_pid = np.argsort(g_pids, kind='stable')
    sorted_pids = g_pids[by_pid]
    first = np.searchsorted(sorted_pids, q_pids, 'left')
    num_same = np.searchsorted(sorted_pids, q_pids, 'right') - first
    num_same[q_pids == -1] = 0
    cams_by_pid = g_camids[by_pid]
    junk_cols = np.flatnonzero(g_pids == -1)

    # first_hist[r] counts valid queries whose first match is at rank r
    # (1-based; ranks beyond max_rank are pooled in the last bin).
    first_hist = np.zeros(max_rank + 2, dtype=np.int64)
    ap_sum = inp_sum = 0.0
    num_valid = 0
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        block = np.ascontiguousarray(distmat[start:stop])
        if (np.issubdtype(block.dtype, np.floating) and block.size
                and np.isnan(block.max())):
            raise ValueError('evaluate_rank: the distance matrix contains '
                             f'NaN (query rows {start}-{stop - 1}); check the '
                             'features')
        n = num_same[start:stop]
        rows = np.repeat(np.arange(stop - start), n)
        pos = np.arange(rows.size) + np.repeat(
            first[start:stop] - (np.cumsum(n) - n), n)
        match = cams_by_pid[pos] != q_camids[start:stop][rows]
        rows, match_rank = _match_ranks(block, rows, by_pid[pos], match,
                                        junk_cols)
        if rows.size == 0:
            continue
        num_rel = np.bincount(rows, minlength=stop - start)
        valid = num_rel > 0
        ends = np.cumsum(num_rel)  # one past each row's last match
        begins = ends - num_rel
        # j-th match of its row (1-based).
        nth = np.arange(1, rows.size + 1) - np.repeat(begins, num_rel)
        ap = np.bincount(rows, nth / match_rank, minlength=stop - start)
        ap_sum += float((ap[valid] / num_rel[valid]).sum())
        last_rank = match_rank[ends[valid] - 1]
        inp_sum += float((num_rel[valid] / last_rank).sum())
        first_rank = match_rank[begins[valid]]
        first_hist += np.bincount(
            np.minimum(first_rank, max_rank + 1), minlength=max_rank + 2)
        num_valid += int(valid.sum())
    if num_valid == 0:
        raise ValueError(
            f'evaluate_rank: none of the {num_q} queries has a true match in '
            f'the gallery ({num_g} entries) once same-identity same-camera '
            'and junk (pid -1) entries are removed; check that query and '
            'gallery share identities across cameras')
    cmc = np.cumsum(first_hist[1:max_rank + 1]) / num_valid
    return dict(
        cmc=cmc,
        mAP=ap_sum / num_valid,
        mINP=inp_sum / num_valid,
        num_valid_queries=num_valid,
        num_skipped_queries=num_q - num_valid)
