# Copyright (c) jclreid contributors. All rights reserved.
from typing import List, Sequence

import torch


def sample_fields(data_sample) -> dict:
    """Read ``pred_feature`` and the meta fields of a data sample given
    as a dict (how mmengine passes them) or a ReIDDataSample."""
    get = (data_sample.get if isinstance(data_sample, dict) else
           lambda k, d=None: getattr(data_sample, k, d))
    feat = get('pred_feature')
    if feat is None:
        raise KeyError('data sample has no pred_feature: the model must run '
                       'in predict mode before the metric')
    return dict(
        feature=torch.as_tensor(feat).detach().float().cpu().view(-1),
        pid=int(get('pid', -1)),
        camid=int(get('camid', 0)),
        is_query=bool(get('is_query', False)),
        sample_idx=get('sample_idx', None))


def dedup_by_index(results: Sequence[dict]) -> List[dict]:
    """Drop repeated samples (padding of distributed samplers)."""
    seen, out = set(), []
    for r in results:
        idx = r.get('sample_idx')
        if idx is not None:
            if idx in seen:
                continue
            seen.add(idx)
        out.append(r)
    return out
