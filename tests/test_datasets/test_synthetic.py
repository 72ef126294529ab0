# Copyright (c) jclreid contributors. All rights reserved.
import hashlib
import os

import cv2
import numpy as np
import pytest
import torch

from jclreid.datasets.synthetic import generate_persons, generate_scenes
from jclreid.evaluation import compute_distance, evaluate_rank
from jclreid.registry import DATASETS

SMALL = dict(num_train_ids=12, num_test_ids=10, num_cameras=4,
             num_distractors=5)


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            h.update(name.encode())
            with open(os.path.join(dirpath, name), 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


def test_persons_deterministic(tmp_path):
    a = generate_persons(str(tmp_path / 'a'), seed=3, **SMALL)
    b = generate_persons(str(tmp_path / 'b'), seed=3, **SMALL)
    assert a == b
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    generate_persons(str(tmp_path / 'c'), seed=4, **SMALL)
    assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')


def test_synthetic_reid_generates_market_layout(tmp_path):
    root = tmp_path / 'syn'
    cfg = dict(type='SyntheticReID', data_root=str(root), img_size=(32, 16),
               **SMALL)
    train = DATASETS.build(dict(cfg, split='train'))
    counts = __import__('json').load(open(root / 'meta.json'))['counts']
    assert len(train) == counts['train']
    assert sorted(os.listdir(root)) == [
        'bounding_box_test', 'bounding_box_train', 'meta.json', 'query'
    ]
    assert set(train.get_pids().tolist()) == set(range(1, 13))
    # Every identity is seen by >= 2 cameras.
    for pid in range(1, 13):
        cams = train.get_camids()[train.get_pids() == pid]
        assert len(set(cams.tolist())) >= 2
    test = DATASETS.build(dict(cfg, split='test'))
    assert len(test) == counts['query'] + counts['gallery']
    q = np.array([test.get_data_info(i)['is_query'] for i in range(len(test))])
    assert q.sum() == counts['query']
    assert 0 in test.get_pids()[~q]  # distractors
    img = cv2.imread(train.get_data_info(0)['img_path'])
    assert img.shape == (32, 16, 3)
    # Second build reuses the folder; other parameters are refused.
    mtime = os.path.getmtime(root / 'meta.json')
    DATASETS.build(dict(cfg, split='train'))
    assert os.path.getmtime(root / 'meta.json') == mtime
    with pytest.raises(ValueError, match='generated with'):
        DATASETS.build(dict(cfg, seed=1))
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.syn')]


def test_raw_pixels_do_not_solve_synthetic_reid(tmp_path):
    """Naive features score low: the data is hard (camera style)."""
    ds = DATASETS.build(
        dict(type='SyntheticReID', data_root=str(tmp_path / 's'),
             split='test', num_train_ids=2, num_test_ids=40))
    feats = torch.tensor(np.stack([
        cv2.imread(ds.get_data_info(i)['img_path']).astype(np.float32).ravel()
        for i in range(len(ds))
    ]))
    feats = feats - feats.mean(0)
    q = np.array([ds.get_data_info(i)['is_query'] for i in range(len(ds))])
    pids, cams = ds.get_pids(), ds.get_camids()
    res = evaluate_rank(compute_distance(feats[q], feats[~q]), pids[q],
                        pids[~q], cams[q], cams[~q])
    assert res['mAP'] < 0.3


def test_synthetic_scenes(tmp_path):
    a = generate_scenes(str(tmp_path / 'a'), images_per_class=3, img_size=16)
    generate_scenes(str(tmp_path / 'b'), images_per_class=3, img_size=16)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    assert len(a) == 10
    cfg = dict(type='SyntheticScenes', data_root=str(tmp_path / 'sc'),
               images_per_class=5, img_size=16, train_ratio=0.6)
    train = DATASETS.build(dict(cfg, split='train'))
    test = DATASETS.build(dict(cfg, split='test'))
    assert len(train) == 30 and len(test) == 20
    assert len(train.metainfo['classes']) == 10


def test_ensure_generated_writes_params_once(tmp_path):
    import json

    from jclreid.datasets.synthetic.generate import ensure_generated
    calls = []

    def fake(out, **kwargs):
        calls.append(kwargs)
        open(os.path.join(out, 'x.txt'), 'w').close()
        return dict(x=1)

    root = str(tmp_path / 'fake')
    ensure_generated(root, 'fake', fake, size=[4, 2], names=('a', ), n=3)
    # The generator gets sequences as tuples, the metadata stores lists.
    assert calls == [dict(size=(4, 2), names=('a', ), n=3)]
    meta = json.load(open(os.path.join(root, 'meta.json')))
    assert meta == dict(
        params=dict(generator='fake', size=[4, 2], names=['a'], n=3),
        counts=dict(x=1))
    ensure_generated(root, 'fake', fake, size=(4, 2), names=['a'], n=3)
    assert len(calls) == 1  # already there, same parameters
    with pytest.raises(ValueError, match='generated with'):
        ensure_generated(root, 'fake', fake, size=(4, 2), names=['a'], n=4)


def test_ensure_generated_concurrent_runs_keep_the_first_copy(tmp_path):
    """Two runs generating at the same time: the one finishing second
    keeps the first one's copy instead of failing on a non-empty folder."""
    from jclreid.datasets.synthetic.generate import ensure_generated
    root = str(tmp_path / 'fake')

    def fake(out, **kwargs):
        open(os.path.join(out, 'x.txt'), 'w').close()
        return dict(x=1)

    def slow(out, **kwargs):
        # The other run finishes while this one is still generating.
        ensure_generated(root, 'fake', fake, n=3)
        open(os.path.join(out, 'y.txt'), 'w').close()
        return dict(x=1)

    ensure_generated(root, 'fake', slow, n=3)
    assert sorted(os.listdir(root)) == ['meta.json', 'x.txt']
    assert os.listdir(tmp_path) == ['fake']  # no temporary folder left
