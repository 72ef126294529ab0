# Copyright (c) jclreid contributors. All rights reserved.
import pickle
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from jclreid.registry import METRICS
from jclreid.utils.fileio import atomic_write
from ..functional import compute_distance
from ._utils import prepare_results, sample_fields, stack_features


@METRICS.register_module()
class DumpReIDRanking(BaseMetric):
    """Write features and the query-gallery ranking to a pickle file, for
    visualisation (ranked lists, t-SNE) or later analysis.

    The file holds a dict: ``features`` (N, D) float32, ``pids``,
    ``camids``, ``is_query`` (N, ), ``img_paths`` (list), ``sample_idx``,
    and, when there are query and gallery samples, ``query_index`` (Q, )
    and ``gallery_index`` (G, ) positions into those arrays, ``ranking``
    (Q, topk) gallery positions sorted by distance and ``distances``
    (Q, topk). Written atomically (temporary file, then rename).

    Args:
        out_file (str): Output ``.pkl`` path.
        metric (str): ``'cosine'`` or ``'euclidean'``. Defaults to
            ``'cosine'``.
        topk (int): Ranks kept per query. Defaults to 50.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Unused; no metric values are returned.
    """
    default_prefix = 'dump'  # set so mmengine does not warn; never used

    def __init__(self,
                 out_file: str,
                 metric: str = 'cosine',
                 topk: int = 50,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_file.endswith(('.pkl', '.pickle')):
            raise ValueError('DumpReIDRanking.out_file must be a .pkl file, '
                             f'got {out_file!r}')
        self.out_file = out_file
        self.metric = metric
        self.topk = topk

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            self.results.append(sample_fields(sample))

    def compute_metrics(self, results: list) -> dict:
        results = prepare_results(results)
        feats = stack_features(results)
        is_query = np.array([r['is_query'] for r in results])
        out = dict(
            features=feats.numpy().astype(np.float32),
            pids=np.array([r['pid'] for r in results]),
            camids=np.array([r['camid'] for r in results]),
            is_query=is_query,
            img_paths=[r['img_path'] for r in results],
            sample_idx=np.array([
                -1 if r['sample_idx'] is None else r['sample_idx']
                for r in results
            ]))
        q_idx, g_idx = np.flatnonzero(is_query), np.flatnonzero(~is_query)
        if q_idx.size and g_idx.size:
            dist = compute_distance(feats[q_idx], feats[g_idx], self.metric)
            k = min(self.topk, g_idx.size)
            values, order = dist.topk(k, dim=1, largest=False)
            out.update(
                query_index=q_idx,
                gallery_index=g_idx,
                ranking=order.numpy(),
                distances=values.numpy())
        atomic_write(pickle.dumps(out), self.out_file)
        return {}
