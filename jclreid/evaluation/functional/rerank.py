# Copyright (c) jclreid contributors. All rights reserved.
"""k-reciprocal re-ranking of a query-gallery ranking (Zhong et al., CVPR
2017), for evaluation."""
import numpy as np


def _k_reciprocal(initial_rank: np.ndarray, i: int, k: int) -> np.ndarray:
    forward = initial_rank[i, :k + 1]
    backward = initial_rank[forward, :k + 1]
    return forward[np.any(backward == i, axis=1)]


def re_ranking(q_g_dist: np.ndarray,
               q_q_dist: np.ndarray,
               g_g_dist: np.ndarray,
               k1: int = 20,
               k2: int = 6,
               lambda_value: float = 0.3) -> np.ndarray:
    """Re-rank with k-reciprocal encoding.

    The final distance is ``lambda * d + (1 - lambda) * d_J`` where ``d`` is
    the original distance and ``d_J`` the Jaccard distance of the
    k-reciprocal sets (expanded with their half-k1 reciprocal neighbours and
    smoothed over the k2 nearest neighbours).

    Args:
        q_g_dist (ndarray): (M, N) query-gallery distances.
        q_q_dist (ndarray): (M, M) query-query distances.
        g_g_dist (ndarray): (N, N) gallery-gallery distances.
        k1 (int): k of the k-reciprocal sets. Defaults to 20.
        k2 (int): Neighbours of the local query expansion. Defaults to 6.
        lambda_value (float): Weight of the original distance.
            Defaults to 0.3.

    Returns:
        ndarray: (M, N) re-ranked distances.
    """
    num_q = q_g_dist.shape[0]
    full = np.concatenate([
        np.concatenate([q_q_dist, q_g_dist], axis=1),
        np.concatenate([q_g_dist.T, g_g_dist], axis=1)
    ]).astype(np.float32)
    n = full.shape[0]
    k1 = min(k1, n - 1)
    k2 = max(1, min(k2, n))
    original = full / np.maximum(full.max(axis=0, keepdims=True), 1e-12)
    initial_rank = np.argsort(original, axis=1, kind='stable')
    weights = np.zeros((n, n), dtype=np.float32)
    half = int(np.around(k1 / 2))
    for i in range(n):
        recip = _k_reciprocal(initial_rank, i, k1)
        expanded = recip
        for cand in recip:
            cand_recip = _k_reciprocal(initial_rank, cand, half)
            overlap = np.intersect1d(cand_recip, recip).size
            if overlap > 2 / 3 * cand_recip.size:
                expanded = np.append(expanded, cand_recip)
        expanded = np.unique(expanded)
        w = np.exp(-original[i, expanded])
        weights[i, expanded] = w / w.sum()
    if k2 > 1:
        weights = np.stack([
            weights[initial_rank[i, :k2]].mean(axis=0) for i in range(n)
        ])
    # Jaccard distance between queries and everything, via an inverted
    # index over the non-zero columns.
    inv_index = [np.flatnonzero(weights[:, j]) for j in range(n)]
    jaccard = np.zeros((num_q, n), dtype=np.float32)
    for i in range(num_q):
        mins = np.zeros(n, dtype=np.float32)
        for j in np.flatnonzero(weights[i]):
            rows = inv_index[j]
            mins[rows] += np.minimum(weights[i, j], weights[rows, j])
        jaccard[i] = 1 - mins / (2 - mins)
    final = jaccard * (1 - lambda_value) + original[:num_q] * lambda_value
    return final[:, num_q:]
