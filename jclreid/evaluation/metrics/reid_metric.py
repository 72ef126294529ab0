# Copyright (c) jclreid contributors. All rights reserved.
import logging
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from jclreid.registry import METRICS
from ..functional import compute_distance, evaluate_rank, re_ranking_features
from ._utils import prepare_results, sample_fields, stack_features


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Person re-ID ranking metric: mAP, mINP and CMC Rank-k, in percent.

    Every evaluated sample carries ``pred_feature`` (D, ) and the meta fields
    ``pid``, ``camid``, ``is_query`` (and ``sample_idx``). Query and gallery
    are split by ``is_query``; the query-gallery distances (optionally
    k-reciprocal re-ranked) are scored by :func:`evaluate_rank` under the
    Market-1501 protocol (same-identity same-camera and junk ``pid=-1``
    gallery entries removed per query; queries without a match skipped,
    with a warning).

    The functional :func:`evaluate_rank` returns fractions; this metric
    returns percentages (0-100) like other OpenMMLab metrics:
    ``{'mAP', 'mINP', 'Rank-1', 'Rank-5', 'Rank-10'}`` (one ``Rank-k`` per
    ``topk``), prefixed with ``reid/`` by :meth:`evaluate`.

    Results are collected across ranks by :class:`BaseMetric` (truncated to
    the dataset size), then de-duplicated by ``sample_idx`` and sorted by
    it, so the scores do not depend on the order of collection.

    Args:
        metric (str): ``'cosine'`` or ``'euclidean'`` (squared) distance.
            Defaults to ``'cosine'``.
        rerank (bool): Apply k-reciprocal re-ranking
            (:func:`re_ranking_features`). Defaults to False.
        k1 (int): Re-ranking k1. Defaults to 20.
        k2 (int): Re-ranking k2. Defaults to 6.
        lambda_value (float): Re-ranking weight of the original distance.
            Defaults to 0.3.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        topk (Sequence[int]): The ``Rank-k`` reported, each in
            ``[1, max_rank]``. Defaults to (1, 5, 10).
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results are
            gathered across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to
            None, i.e. ``'reid'``.
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
        if not isinstance(max_rank, int) or max_rank < 1:
            raise ValueError('ReIDMetric.max_rank must be an int >= 1, got '
                             f'{max_rank!r}')
        if isinstance(topk, int):
            topk = (topk, )
        topk = tuple(topk)
        if not topk or any(not isinstance(k, int) or not 1 <= k <= max_rank
                           for k in topk):
            raise ValueError('ReIDMetric.topk must be ints in [1, max_rank='
                             f'{max_rank}], got {topk}')
        for name, value in (('k1', k1), ('k2', k2)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'ReIDMetric.{name} must be an int >= 1, '
                                 f'got {value!r}')
        if not 0 <= lambda_value <= 1:
            raise ValueError('ReIDMetric.lambda_value must be in [0, 1], '
                             f'got {lambda_value!r}')
        self.metric = metric
        self.rerank = rerank
        self.k1, self.k2, self.lambda_value = k1, k2, lambda_value
        self.max_rank = max_rank
        self.topk = topk

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store the CPU feature and meta fields of each data sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict | ReIDDataSample]): The model's
                outputs, with ``pred_feature``, ``pid``, ``camid``,
                ``is_query`` and ``sample_idx``.
        """
        for sample in data_samples:
            fields = sample_fields(
                sample, required=('pid', 'camid', 'is_query'))
            fields.pop('img_path')
            self.results.append(fields)

    def compute_metrics(self, results: list) -> dict:
        """Score the collected results (see the class docstring)."""
        results = prepare_results(results)
        query = [r for r in results if r['is_query']]
        gallery = [r for r in results if not r['is_query']]
        if not query or not gallery:
            raise ValueError(
                f'ReIDMetric needs query and gallery samples, got '
                f'{len(query)} queries and {len(gallery)} gallery samples: '
                'evaluate on a test split that sets is_query')
        q_feats, g_feats = stack_features(query), stack_features(gallery)
        if q_feats.shape[1] != g_feats.shape[1]:
            raise ValueError('query and gallery features differ in '
                             f'dimension: {q_feats.shape[1]} vs '
                             f'{g_feats.shape[1]}')
        if self.rerank:
            dist = re_ranking_features(q_feats, g_feats, self.metric, self.k1,
                                       self.k2, self.lambda_value)
        else:
            dist = compute_distance(q_feats, g_feats, self.metric)
        res = evaluate_rank(
            dist,
            np.array([r['pid'] for r in query]),
            np.array([r['pid'] for r in gallery]),
            np.array([r['camid'] for r in query]),
            np.array([r['camid'] for r in gallery]),
            max_rank=self.max_rank)
        if res['num_skipped_queries']:
            print_log(
                f'ReIDMetric: {res["num_skipped_queries"]} of {len(query)} '
                'queries have no true match in the gallery and were '
                'skipped',
                logger='current',
                level=logging.WARNING)
        out = dict(mAP=100 * res['mAP'], mINP=100 * res['mINP'])
        for k in self.topk:
            out[f'Rank-{k}'] = 100 * float(res['cmc'][k - 1])
        return out
