# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from sklearn.cluster import KMeans

from jclreid.registry import METRICS
from ..functional import (ari, cluster_accuracy, leave_one_out_knn,
                          leave_one_out_map, nmi)
from ._utils import prepare_results, sample_fields, stack_features


@METRICS.register_module()
class SceneMetric(BaseMetric):
    """Unsupervised scene-classification metrics, in percent (0-100).

    Every evaluated sample carries ``pred_feature`` (D, ) and its class as
    ``pid`` (and ``sample_idx``). On the test features:

    - ``ACC`` / ``NMI`` / ``ARI``: k-means (scikit-learn) with K = the
      number of classes among the labels, on the L2-normalised features;
      ACC maps clusters to classes one-to-one (Hungarian algorithm).
    - ``mAP``: leave-one-out retrieval mAP; every image queries all the
      others by cosine distance, same class = relevant.
    - ``kNN`` (only when ``knn_k`` is set): leave-one-out k-nearest-neighbour
      accuracy (cosine, majority vote). A probe of the embedding, not a
      trained classifier; the labels are never used for training.

    The functions in :mod:`jclreid.evaluation.functional` return fractions.
    Results are de-duplicated by ``sample_idx`` and sorted by it, so k-means
    sees the same data in the same order on every run.

    Args:
        n_init (int): k-means restarts (best inertia kept). Defaults to 10.
        seed (int): k-means random state. Defaults to 0.
        knn_k (int, optional): k of the kNN probe; None skips it.
            Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to
            None, i.e. ``'scene'``.
    """

    default_prefix = 'scene'

    def __init__(self,
                 n_init: int = 10,
                 seed: int = 0,
                 knn_k: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(n_init, int) or n_init < 1:
            raise ValueError(f'SceneMetric.n_init must be an int >= 1, got '
                             f'{n_init!r}')
        if knn_k is not None and (not isinstance(knn_k, int) or knn_k < 1):
            raise ValueError('SceneMetric.knn_k must be None or an int >= 1, '
                             f'got {knn_k!r}')
        self.n_init = n_init
        self.seed = seed
        self.knn_k = knn_k

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store the CPU feature, class (``pid``) and ``sample_idx`` of each
        data sample (dicts or ReIDDataSample)."""
        for sample in data_samples:
            fields = sample_fields(sample, required=('pid', ))
            fields.pop('img_path')
            self.results.append(fields)

    def compute_metrics(self, results: list) -> dict:
        """Score the collected results (see the class docstring)."""
        results = prepare_results(results)
        feats = stack_features(results)
        labels = np.array([r['pid'] for r in results])
        num_classes = len(np.unique(labels))
        if num_classes < 2:
            raise ValueError('SceneMetric needs at least 2 classes among the '
                             f'test labels, got {num_classes}')
        normed = F.normalize(feats, dim=1).numpy().astype(np.float64)
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
