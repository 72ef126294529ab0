# Copyright (c) jclreid contributors. All rights reserved.
"""Ranking evaluation under the Market-1501 protocol."""
from typing import Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def _np(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def evaluate_rank(distmat: ArrayLike,
                  q_pids: ArrayLike,
                  g_pids: ArrayLike,
                  q_camids: ArrayLike,
                  g_camids: ArrayLike,
                  max_rank: int = 50,
                  chunk_size: int = 1024) -> dict:
    """CMC, mAP and mINP of a query-gallery distance matrix.

    For each query, gallery entries with the same identity *and* the same
    camera are removed, as are junk entries (gallery pid ``-1``). Queries
    left with no true match are skipped and counted.

    - AP of a query is the mean, over its true matches, of the precision at
      the rank of each match; mAP is the mean over valid queries.
    - INP is ``num_matches / rank of the hardest (last) match``.
    - CMC@k is the fraction of valid queries with a match in the top k.

    Args:
        distmat (ndarray | Tensor): (num_query, num_gallery) distances,
            smaller is closer.
        q_pids, g_pids (ndarray | Tensor): (num_query, ), (num_gallery, )
            identities.
        q_camids, g_camids (ndarray | Tensor): Camera ids, same shapes.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        chunk_size (int): Queries sorted at once (bounds memory).
            Defaults to 1024.

    Returns:
        dict: ``cmc`` (ndarray, (max_rank, )), ``mAP``, ``mINP`` (floats in
        [0, 1]), ``num_valid_queries`` and ``num_skipped_queries``.
    """
    distmat = _np(distmat).astype(np.float64, copy=False)
    q_pids, g_pids = _np(q_pids).astype(np.int64), _np(g_pids).astype(
        np.int64)
    q_camids, g_camids = _np(q_camids).astype(np.int64), _np(
        g_camids).astype(np.int64)
    num_q, num_g = distmat.shape
    if q_pids.shape != (num_q, ) or q_camids.shape != (num_q, ):
        raise ValueError(f'q_pids/q_camids must have shape ({num_q},), got '
                         f'{q_pids.shape} and {q_camids.shape}')
    if g_pids.shape != (num_g, ) or g_camids.shape != (num_g, ):
        raise ValueError(f'g_pids/g_camids must have shape ({num_g},), got '
                         f'{g_pids.shape} and {g_camids.shape}')
    cmc_sum = np.zeros(max_rank, dtype=np.float64)
    ap_sum = inp_sum = 0.0
    num_valid = 0
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        # Stable sort: ties keep gallery order (same as argsort in the
        # reference evaluators on tie-free input).
        order = np.argsort(distmat[start:stop], axis=1, kind='stable')
        gp, gc = g_pids[order], g_camids[order]
        qp = q_pids[start:stop, None]
        qc = q_camids[start:stop, None]
        keep = ~(((gp == qp) & (gc == qc)) | (gp == -1))
        matches = (gp == qp) & keep
        for row_keep, row_match in zip(keep, matches):
            raw = row_match[row_keep]
            num_rel = int(raw.sum())
            if num_rel == 0:
                continue
            num_valid += 1
            pos = np.flatnonzero(raw)  # 0-based ranks of the matches
            first = pos[0]
            if first < max_rank:
                cmc_sum[first:] += 1
            precision = np.arange(1, num_rel + 1) / (pos + 1)
            ap_sum += precision.mean()
            inp_sum += num_rel / (pos[-1] + 1)
    if num_valid == 0:
        raise RuntimeError(
            'evaluate_rank: no query has a true match in the gallery (after '
            'removing same-identity same-camera and junk entries); check '
            'that query and gallery share identities across cameras')
    return dict(
        cmc=(cmc_sum / num_valid).astype(np.float32),
        mAP=float(ap_sum / num_valid),
        mINP=float(inp_sum / num_valid),
        num_valid_queries=num_valid,
        num_skipped_queries=num_q - num_valid)
