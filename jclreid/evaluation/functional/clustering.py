# Copyright (c) jclreid contributors. All rights reserved.
"""Agreement between a clustering and ground-truth labels.

All functions take 1-D label arrays (numpy, lists or tensors) of the same
length and return fractions in [0, 1] (ARI in [-1, 1]).
"""
from typing import Optional, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from .rank import to_numpy


def _labels(y_true, y_pred) -> Tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError('y_true and y_pred must be non-empty 1-D arrays of '
                         f'the same length, got shapes {y_true.shape} and '
                         f'{y_pred.shape}')
    return y_true, y_pred


def _pair_codes(
        y_true: np.ndarray, y_pred: np.ndarray
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Dense codes of both labelings and the sparse contingency counts:
    ``(true_code, pred_code, count)`` of every non-empty cell."""
    true_values, t = np.unique(y_true, return_inverse=True)
    pred_values, p = np.unique(y_pred, return_inverse=True)
    cells, count = np.unique(
        t.astype(np.int64) * len(pred_values) + p, return_counts=True)
    return (cells // len(pred_values), cells % len(pred_values), count,
            len(true_values), len(pred_values))


def cluster_accuracy(y_true, y_pred) -> float:
    """Clustering accuracy (ACC).

    The fraction of samples whose cluster is mapped to their class by the
    best one-to-one mapping of clusters to classes (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment`` on the contingency table).
    Clusters or classes left unmatched (when their numbers differ) count as
    errors. Every predicted value is a cluster, ``-1`` included.

    Args:
        y_true (array-like): (N, ) ground-truth labels.
        y_pred (array-like): (N, ) cluster labels.

    Returns:
        float: Accuracy in [0, 1].
    """
    y_true, y_pred = _labels(y_true, y_pred)
    t, p, count, num_true, num_pred = _pair_codes(y_true, y_pred)
    table = np.zeros((num_true, num_pred), dtype=np.int64)
    table[t, p] = count
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.size)


def nmi(y_true, y_pred) -> float:
    """Normalised mutual information (arithmetic normalisation, sklearn's
    ``normalized_mutual_info_score``). Every predicted value is a cluster.
    """
    y_true, y_pred = _labels(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index (sklearn's ``adjusted_rand_score``). Every
    predicted value is a cluster."""
    y_true, y_pred = _labels(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def _num_pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_precision_recall(
        y_true,
        y_pred,
        ignore_label: Optional[int] = -1) -> Tuple[float, float, float]:
    """Pairwise precision, recall and F-score of a clustering.

    Over all unordered pairs of distinct samples: a pair is *predicted*
    positive when both samples are in the same predicted cluster, and
    *truly* positive when both have the same ground-truth label.
    ``precision = TP / predicted pairs``, ``recall = TP / true pairs``.

    Samples predicted as ``ignore_label`` (DBSCAN outliers) are singletons:
    they form no predicted pair, so they never lower the precision and
    lower the recall through the true pairs they miss. Pass
    ``ignore_label=None`` to treat that value as an ordinary cluster.

    Counted from the non-empty cells of the contingency table (pairs
    inside each cell, cluster and class), in O(N log N), never over N x N
    pairs.

    Args:
        y_true (array-like): (N, ) ground-truth labels.
        y_pred (array-like): (N, ) cluster labels.
        ignore_label (int, optional): Outlier label of ``y_pred``.
            Defaults to -1.

    Returns:
        tuple[float, float, float]: precision, recall and F-score, each 0
        when undefined (no predicted pair, no true pair, or both 0).
    """
    y_true, y_pred = _labels(y_true, y_pred)
    _, true_counts = np.unique(y_true, return_counts=True)
    true_pairs = _num_pairs(true_counts)
    if ignore_label is not None:
        inlier = y_pred != ignore_label
        y_true, y_pred = y_true[inlier], y_pred[inlier]
    if y_pred.size:
        _, pred_counts = np.unique(y_pred, return_counts=True)
        pred_pairs = _num_pairs(pred_counts)
        tp = _num_pairs(_pair_codes(y_true, y_pred)[2])
    else:
        tp = pred_pairs = 0
    precision = tp / pred_pairs if pred_pairs else 0.0
    recall = tp / true_pairs if true_pairs else 0.0
    fscore = (2 * precision * recall / (precision + recall) if precision +
              recall > 0 else 0.0)
    return float(precision), float(recall), float(fscore)


def outliers_as_singletons(labels, ignore_label: int = -1) -> np.ndarray:
    """Give every sample labelled ``ignore_label`` (a DBSCAN outlier) a
    cluster of its own, numbered after the largest label.

    Args:
        labels (array-like): (N, ) int cluster labels.
        ignore_label (int): The outlier label. Defaults to -1.

    Returns:
        np.ndarray: (N, ) int64 labels without ``ignore_label``.
    """
    out = np.array(to_numpy(labels), dtype=np.int64)
    outlier = out == ignore_label
    out[outlier] = (out[~outlier].max(initial=-1) + 1 +
                    np.arange(outlier.sum()))
    return out


def clustering_agreement(y_true, y_pred, ignore_label: int = -1) -> dict:
    """Agreement of a clustering (pseudo labels) with the ground truth.

    Outliers (``ignore_label``) are singletons for NMI and ARI (see
    :func:`outliers_as_singletons`) and form no predicted pair for the
    pairwise scores (see :func:`pairwise_precision_recall`).

    Args:
        y_true (array-like): (N, ) ground-truth labels.
        y_pred (array-like): (N, ) cluster labels.
        ignore_label (int): Outlier label of ``y_pred``. Defaults to -1.

    Returns:
        dict: ``nmi``, ``ari``, ``pair_precision``, ``pair_recall`` and
        ``pair_fscore`` (floats).
    """
    singletons = outliers_as_singletons(y_pred, ignore_label)
    precision, recall, fscore = pairwise_precision_recall(
        y_true, y_pred, ignore_label=ignore_label)
    return dict(
        nmi=nmi(y_true, singletons),
        ari=ari(y_true, singletons),
        pair_precision=precision,
        pair_recall=recall,
        pair_fscore=fscore)
