# Copyright (c) jclreid contributors. All rights reserved.
"""Helpers shared by the metrics: reading data samples and ordering the
collected results."""
from typing import List, Sequence

import torch

_MISSING = object()


def _getter(data_sample):
    if isinstance(data_sample, dict):
        return data_sample.get
    return lambda key, default=None: getattr(data_sample, key, default)


def sample_fields(data_sample, required: Sequence[str] = ()) -> dict:
    """Read ``pred_feature`` and the meta fields of one data sample.

    Args:
        data_sample (dict | ReIDDataSample): A dict (how mmengine's
            ``Evaluator`` passes samples, from ``to_dict()``) or a
            :class:`~jclreid.structures.ReIDDataSample`.
        required (Sequence[str]): Meta fields that must be present among
            ``pid``, ``camid``, ``is_query``. Missing optional ones default
            to ``pid=-1``, ``camid=0``, ``is_query=False``.

    Returns:
        dict: ``feature`` (CPU float32 tensor (D, )), ``pid``, ``camid``,
        ``is_query``, ``sample_idx`` (int or None) and ``img_path``.
    """
    get = _getter(data_sample)
    feat = get('pred_feature', None)
    if feat is None:
        raise KeyError('data sample has no pred_feature: the model must run '
                       "in 'predict' mode and set it before the metric")
    for key in required:
        if get(key, _MISSING) is _MISSING:
            raise KeyError(f'data sample has no {key!r}; the test pipeline '
                           'must pack it into the metainfo '
                           '(PackReIDInputs meta_keys)')
    sample_idx = get('sample_idx', None)
    return dict(
        feature=torch.as_tensor(feat).detach().float().cpu().reshape(-1),
        pid=int(get('pid', -1)),
        camid=int(get('camid', 0)),
        is_query=bool(get('is_query', False)),
        sample_idx=None if sample_idx is None else int(sample_idx),
        img_path=get('img_path', None))


def prepare_results(results: Sequence[dict]) -> List[dict]:
    """Drop repeated samples and put the rest in a fixed order.

    Samples seen twice (by ``sample_idx``, e.g. padding of a distributed
    sampler) are kept once; when every sample has a ``sample_idx`` they are
    sorted by it, so the metrics do not depend on the collection order.

    Raises:
        ValueError: If two samples share a ``sample_idx`` but differ in
            ``pid``, ``camid`` or ``is_query`` (indices not unique, e.g.
            two datasets concatenated).
    """
    seen, out = {}, []
    for r in results:
        idx = r.get('sample_idx')
        if idx is not None:
            if idx in seen:
                first = seen[idx]
                if any(first[k] != r[k] for k in ('pid', 'camid', 'is_query')):
                    raise ValueError(
                        f'two evaluated samples have sample_idx={idx} but '
                        f'different pid/camid/is_query ({first["pid"]}, '
                        f'{first["camid"]}, {first["is_query"]}) vs '
                        f'({r["pid"]}, {r["camid"]}, {r["is_query"]}): '
                        'sample_idx must be unique in the evaluated dataset')
                continue
            seen[idx] = r
        out.append(r)
    if out and len(seen) == len(out):
        out.sort(key=lambda r: r['sample_idx'])
    return out


def stack_features(results: Sequence[dict]) -> torch.Tensor:
    """(N, D) float32 features of the results; all must share D."""
    dims = {r['feature'].numel() for r in results}
    if len(dims) > 1:
        raise ValueError('evaluated features have different dimensions: '
                         f'{sorted(dims)}')
    return torch.stack([r['feature'] for r in results])
