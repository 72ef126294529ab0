# Copyright (c) jclreid contributors. All rights reserved.
"""Leave-one-out retrieval and kNN on one labelled set of features (scene
classification, where there is no query/gallery split)."""
import numpy as np
import torch

from jclreid.utils.array import ArrayLike, to_numpy
from .distance import compute_distance
from .rank import evaluate_rank


def _inputs(features: ArrayLike, labels: ArrayLike):
    features = torch.as_tensor(to_numpy(features)).float()
    labels = to_numpy(labels).astype(np.int64)
    if features.dim() != 2 or labels.shape != (features.shape[0], ):
        raise ValueError('features must be (N, D) and labels (N, ), got '
                         f'{tuple(features.shape)} and {labels.shape}')
    if features.shape[0] < 2:
        raise ValueError('leave-one-out evaluation needs at least 2 '
                         f'samples, got {features.shape[0]}')
    return features, labels


def leave_one_out_map(features: ArrayLike,
                      labels: ArrayLike,
                      metric: str = 'cosine') -> float:
    """Retrieval mAP where every sample queries all the others.

    Relevant = same label. A sample whose class has no other member is
    skipped. Computed with :func:`evaluate_rank`, each sample being its own
    camera so that only the sample itself is removed from its gallery.

    Args:
        features (Tensor | ndarray): (N, D) features.
        labels (Tensor | ndarray): (N, ) class labels.
        metric (str): ``'cosine'`` or ``'euclidean'``. Defaults to
            ``'cosine'``.

    Returns:
        float: mAP in [0, 1].

    Raises:
        ValueError: If no class has two samples.
    """
    features, labels = _inputs(features, labels)
    if np.unique(labels, return_counts=True)[1].max() < 2:
        raise ValueError('leave_one_out_map: every class has a single '
                         'sample, so no sample has a relevant item')
    dist = compute_distance(features, features, metric)
    own_camera = np.arange(len(labels))
    return evaluate_rank(
        dist, labels, labels, own_camera, own_camera, max_rank=1)['mAP']


def leave_one_out_knn(features: ArrayLike,
                      labels: ArrayLike,
                      k: int,
                      metric: str = 'cosine') -> float:
    """Leave-one-out k-nearest-neighbour accuracy.

    Each sample is classified by a majority vote of its ``k`` nearest other
    samples; a tied vote goes to the tied label whose member is nearest.
    ``k`` is capped at ``N - 1``. A probe of the embedding, not a trained
    classifier.

    Args:
        features (Tensor | ndarray): (N, D) features.
        labels (Tensor | ndarray): (N, ) class labels.
        k (int): Number of neighbours.
        metric (str): ``'cosine'`` or ``'euclidean'``. Defaults to
            ``'cosine'``.

    Returns:
        float: Accuracy in [0, 1].
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f'leave_one_out_knn: k must be an int >= 1, got '
                         f'{k!r}')
    features, labels = _inputs(features, labels)
    n = len(labels)
    k = min(k, n - 1)
    dist = compute_distance(features, features, metric)
    dist.fill_diagonal_(float('inf'))
    nearest = dist.topk(k, dim=1, largest=False).indices.numpy()
    _, codes = np.unique(labels, return_inverse=True)
    votes = codes[nearest]  # (N, k), nearest first
    counts = np.zeros((n, codes.max() + 1), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n), k), votes.ravel()), 1)
    best = counts == counts.max(axis=1, keepdims=True)
    # First (nearest) neighbour whose label has the most votes.
    first = np.argmax(best[np.arange(n)[:, None], votes], axis=1)
    pred = votes[np.arange(n), first]
    return float((pred == codes).mean())
