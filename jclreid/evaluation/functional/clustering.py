# Copyright (c) jclreid contributors. All rights reserved.
"""Agreement between a clustering and ground-truth labels."""
from typing import Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def _contingency(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    _, t = np.unique(y_true, return_inverse=True)
    _, p = np.unique(y_pred, return_inverse=True)
    return coo_matrix((np.ones_like(t), (t, p))).toarray()


def cluster_accuracy(y_true, y_pred) -> float:
    """Clustering accuracy: the best one-to-one match of clusters to
    classes (Hungarian algorithm), as a fraction of samples."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError('y_true and y_pred must be non-empty and of the '
                         f'same shape, got {y_true.shape}, {y_pred.shape}')
    table = _contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / y_true.size)


def nmi(y_true, y_pred) -> float:
    """Normalised mutual information (arithmetic normalisation)."""
    return float(normalized_mutual_info_score(y_true, y_pred))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index."""
    return float(adjusted_rand_score(y_true, y_pred))


def pairwise_precision_recall(
        y_true, y_pred,
        ignore_label: int = -1) -> Tuple[float, float, float]:
    """Pairwise precision, recall and F-score of a clustering.

    A pair of samples is *predicted* positive when both are in the same
    predicted cluster, and *true* positive when both share the true label.
    Samples predicted as ``ignore_label`` (outliers) form no predicted pair,
    so they lower the recall only. Counted from the contingency table in
    O(N + #clusters x #classes), never over N x N pairs.

    Returns:
        tuple[float, float, float]: precision, recall, F-score (0 when
        undefined).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)

    def pairs(counts):
        counts = np.asarray(counts, dtype=np.float64)
        return float((counts * (counts - 1) / 2).sum())

    _, true_counts = np.unique(y_true, return_counts=True)
    true_pairs = pairs(true_counts)
    inlier = y_pred != ignore_label
    if inlier.any():
        table = _contingency(y_true[inlier], y_pred[inlier])
        tp = pairs(table)
        pred_pairs = pairs(table.sum(0))
    else:
        tp = pred_pairs = 0.0
    precision = tp / pred_pairs if pred_pairs else 0.0
    recall = tp / true_pairs if true_pairs else 0.0
    fscore = (2 * precision * recall / (precision + recall)
              if precision + recall else 0.0)
    return precision, recall, fscore
