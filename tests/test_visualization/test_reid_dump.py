# Copyright (c) jclreid contributors. All rights reserved.
import os
import pickle

import numpy as np
import pytest
import torch

from jclreid.registry import METRICS
from jclreid.structures import ReIDDataSample
from jclreid.utils.safe_pickle import UnsafePickleError
from jclreid.visualization import load_reid_dump


class _Evil:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _dump(tmp_path):
    out = str(tmp_path / 'dump.pkl')
    metric = METRICS.build(dict(type='DumpReIDRanking', out_file=out,
                                topk=2))
    samples = []
    for idx in range(6):
        s = ReIDDataSample(metainfo=dict(
            pid=idx % 2, camid=idx // 3, is_query=idx < 2, sample_idx=idx,
            img_path=f'{idx}.jpg'))
        s.set_pred_feature(torch.randn(4))
        samples.append(s.to_dict())
    metric.process(None, samples)
    metric.evaluate(6)
    return out


def test_loads_a_real_dump(tmp_path):
    dump = load_reid_dump(_dump(tmp_path))
    assert dump['features'].shape == (6, 4)
    assert dump['features'].dtype == np.float32
    assert dump['is_query'].dtype == bool
    assert dump['img_paths'] == [f'{i}.jpg' for i in range(6)]
    assert dump['ranking'].shape == (2, 2)


def test_refuses_code_and_objects(tmp_path):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps(dict(features=_Evil(marker))))
    with pytest.raises(UnsafePickleError, match=r'evil\.pkl.*system'):
        load_reid_dump(str(evil))
    assert not marker.exists()
    objects = tmp_path / 'objects.pkl'
    objects.write_bytes(
        pickle.dumps(dict(features=np.array([None, 1], dtype=object))))
    with pytest.raises(UnsafePickleError, match='object array'):
        load_reid_dump(str(objects))


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        load_reid_dump(str(tmp_path / 'nope.pkl'))
    garbage = tmp_path / 'garbage.pkl'
    garbage.write_bytes(b'not a pickle')
    with pytest.raises(ValueError, match='garbage.pkl'):
        load_reid_dump(str(garbage))
    partial = tmp_path / 'partial.pkl'
    partial.write_bytes(pickle.dumps(dict(features=np.zeros((2, 3)))))
    with pytest.raises(ValueError, match='missing pids'):
        load_reid_dump(str(partial))
