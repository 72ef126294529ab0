# Copyright (c) jclreid contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from jclreid.registry import METRICS
from ..functional import compute_distance, evaluate_rank, re_ranking
from ._utils import dedup_by_index, sample_fields


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Re-ID ranking metric: mAP, mINP and CMC (Rank-k), in percent.

    Query and gallery are told apart by ``is_query``. The functional
    :func:`evaluate_rank` returns fractions; this metric reports percentages
    like other OpenMMLab metrics. Results are collected across ranks by
    :class:`BaseMetric` and de-duplicated by ``sample_idx``.

    Args:
        metric (str): ``'cosine'`` or ``'euclidean'``. Defaults to
            ``'cosine'``.
        rerank (bool): Apply k-reciprocal re-ranking. Defaults to False.
        k1 (int), k2 (int), lambda_value (float): Re-ranking parameters.
            Defaults to 20, 6, 0.3.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        topk (Sequence[int]): Ranks reported. Defaults to (1, 5, 10).
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names.
    """

    default_prefix = 'reid'

    def __init__(self,
                 metric: str = 'cosine',
                 rerank: bool = False,
                 k1: int = 20,
                 k2: int = 6,
                 lambda_value: float = 0.3,
                 max_rank: int = 50,
                 topk: Sequence[int] = (1, 5, 10),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if metric not in ('cosine', 'euclidean'):
            raise ValueError("ReIDMetric.metric must be 'cosine' or "
                             f"'euclidean', got {metric!r}")
        if max(topk) > max_rank:
            raise ValueError(f'ReIDMetric.topk {tuple(topk)} exceeds '
                             f'max_rank={max_rank}')
        self.metric = metric
        self.rerank = rerank
        self.k1, self.k2, self.lambda_value = k1, k2, lambda_value
        self.max_rank = max_rank
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            self.results.append(sample_fields(sample))

    def compute_metrics(self, results: list) -> dict:
        results = dedup_by_index(results)
        query = [r for r in results if r['is_query']]
        gallery = [r for r in results if not r['is_query']]
        if not query or not gallery:
            raise ValueError(
                f'ReIDMetric needs query and gallery samples, got '
                f'{len(query)} and {len(gallery)}: evaluate on split="test"')
        qf = torch.stack([r['feature'] for r in query])
        gf = torch.stack([r['feature'] for r in gallery])
        dist = compute_distance(qf, gf, self.metric).numpy()
        if self.rerank:
            dist = re_ranking(dist,
                              compute_distance(qf, qf, self.metric).numpy(),
                              compute_distance(gf, gf, self.metric).numpy(),
                              self.k1, self.k2, self.lambda_value)
        res = evaluate_rank(
            dist,
            np.array([r['pid'] for r in query]),
            np.array([r['pid'] for r in gallery]),
            np.array([r['camid'] for r in query]),
            np.array([r['camid'] for r in gallery]),
            max_rank=min(self.max_rank, len(gallery)))
        out = dict(mAP=100 * res['mAP'], mINP=100 * res['mINP'])
        for k in self.topk:
            k_eff = min(k, len(res['cmc']))
            out[f'Rank-{k}'] = 100 * float(res['cmc'][k_eff - 1])
        return out
