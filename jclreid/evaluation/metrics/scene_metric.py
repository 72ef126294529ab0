# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from sklearn.cluster import KMeans

from jclreid.registry import METRICS
from ..functional import ari, cluster_accuracy, nmi
from ._utils import dedup_by_index, sample_fields


def leave_one_out_map(features: torch.Tensor, labels: np.ndarray) -> float:
    """Retrieval mAP where every sample queries all the others (cosine);
    same label = relevant. Queries with no relevant item are skipped."""
    feats = F.normalize(features.float(), dim=1)
    sim = (feats @ feats.t()).numpy()
    np.fill_diagonal(sim, -np.inf)
    aps = []
    for i in range(len(labels)):
        order = np.argsort(-sim[i], kind='stable')[:-1]  # drop itself
        rel = labels[order] == labels[i]
        if not rel.any():
            continue
        pos = np.flatnonzero(rel)
        aps.append((np.arange(1, len(pos) + 1) / (pos + 1)).mean())
    return float(np.mean(aps)) if aps else 0.0


def leave_one_out_knn(features: torch.Tensor, labels: np.ndarray,
                      k: int) -> float:
    """kNN (cosine, majority vote, ties to the nearest) accuracy of every
    sample against all the others."""
    feats = F.normalize(features.float(), dim=1)
    sim = feats @ feats.t()
    sim.fill_diagonal_(-float('inf'))
    k = min(k, len(labels) - 1)
    nn_idx = sim.topk(k, dim=1).indices.numpy()
    correct = 0
    for i, row in enumerate(nn_idx):
        votes = labels[row]
        values, counts = np.unique(votes, return_counts=True)
        best = values[counts == counts.max()]
        # Tie: the label of the nearest neighbour among the tied ones.
        pred = next(v for v in votes if v in best)
        correct += int(pred == labels[i])
    return correct / len(labels)


@METRICS.register_module()
class SceneMetric(BaseMetric):
    """Unsupervised scene-classification metrics, in percent.

    - ``ACC`` / ``NMI`` / ``ARI``: k-means with K = number of classes on the
      L2-normalised test features, matched to the classes (Hungarian).
    - ``mAP``: leave-one-out retrieval mAP on the test features (cosine).
    - ``kNN``: leave-one-out k-nearest-neighbour accuracy on the test
      features, a linear-free probe of the embedding (``knn_k`` set).

    Args:
        n_init (int): k-means restarts. Defaults to 10.
        seed (int): k-means seed. Defaults to 0.
        knn_k (int, optional): k of the kNN probe; None skips it.
            Defaults to None.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names.
    """

    default_prefix = 'scene'

    def __init__(self,
                 n_init: int = 10,
                 seed: int = 0,
                 knn_k: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if knn_k is not None and knn_k < 1:
            raise ValueError(f'SceneMetric.knn_k must be >= 1, got {knn_k}')
        self.n_init = n_init
        self.seed = seed
        self.knn_k = knn_k

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            self.results.append(sample_fields(sample))

    def compute_metrics(self, results: list) -> dict:
        results = dedup_by_index(results)
        feats = torch.stack([r['feature'] for r in results])
        labels = np.array([r['pid'] for r in results])
        num_classes = len(np.unique(labels))
        if num_classes < 2:
            raise ValueError('SceneMetric needs at least 2 classes in the '
                             f'test set, got {num_classes}')
        normed = F.normalize(feats, dim=1).numpy()
        pred = KMeans(
            n_clusters=num_classes, n_init=self.n_init,
            random_state=self.seed).fit_predict(normed)
        out = dict(
            ACC=100 * cluster_accuracy(labels, pred),
            NMI=100 * nmi(labels, pred),
            ARI=100 * ari(labels, pred),
            mAP=100 * leave_one_out_map(feats, labels))
        if self.knn_k is not None:
            out['kNN'] = 100 * leave_one_out_knn(feats, labels, self.knn_k)
        return out
