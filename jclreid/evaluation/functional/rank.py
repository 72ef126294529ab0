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

    Rows are sorted chunk by chunk (``np.argsort``; tied distances are
    ordered arbitrarily but deterministically, as in the common
    evaluators); the rest is vectorised. Memory is
    O(chunk_size x num_gallery). A 3,368 x 15,913 matrix (Market-1501)
    takes about 2 s on one CPU core.

    Args:
        distmat (ndarray | Tensor): (num_query, num_gallery) distances,
            smaller is closer. Not copied or modified.
        q_pids (ndarray | Tensor): (num_query, ) query identities.
        g_pids (ndarray | Tensor): (num_gallery, ) gallery identities, ``-1``
            for junk.
        q_camids (ndarray | Tensor): (num_query, ) query cameras.
        g_camids (ndarray | Tensor): (num_gallery, ) gallery cameras.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        chunk_size (int): Query rows sorted at once. Defaults to 256.

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

    # first_hist[r] counts valid queries whose first match is at rank r
    # (1-based; ranks beyond max_rank are pooled in the last bin).
    first_hist = np.zeros(max_rank + 2, dtype=np.int64)
    ap_sum = inp_sum = 0.0
    num_valid = 0
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        block = distmat[start:stop]
        if np.issubdtype(block.dtype, np.floating) and np.isnan(block).any():
            raise ValueError('evaluate_rank: the distance matrix contains '
                             f'NaN (query rows {start}-{stop - 1}); check the '
                             'features')
        # Introsort: 3-4x faster than a stable sort here; ties (absent in
        # real-valued distances) are broken in a fixed but arbitrary order.
        order = np.argsort(block, axis=1)
        gp = g_pids[order]
        same_pid = gp == q_pids[start:stop, None]
        same_cam = g_camids[order] == q_camids[start:stop, None]
        keep = (gp != -1) & ~(same_pid & same_cam)
        match = same_pid & keep
        # 1-based rank of every kept entry among the kept entries.
        rank = np.cumsum(keep, axis=1, dtype=np.int32)
        rows, cols = np.nonzero(match)  # row-major: ranks ascend per row
        if rows.size == 0:
            continue
        match_rank = rank[rows, cols]
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
