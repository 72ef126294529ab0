# Copyright (c) jclreid contributors. All rights reserved.
import json
import os

import cv2
import numpy as np
import pytest

from jclreid.registry import DATASETS


def _make(root, counts):
    img = np.zeros((8, 8, 3), np.uint8)
    for cls, n in counts.items():
        os.makedirs(root / cls, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(root / cls / f'{cls}_{i:02d}.png'), img)


def test_split_is_stratified_and_deterministic(tmp_path):
    root = tmp_path / 'ucm'
    _make(root, dict(forest=10, beach=5, river=2))
    cfg = dict(type='SceneFolder', data_root=str(root), seed=3,
               train_ratio=0.6)
    train = DATASETS.build(dict(cfg, split='train'))
    test = DATASETS.build(dict(cfg, split='test'))
    assert train.metainfo['classes'] == ('beach', 'forest', 'river')
    assert np.bincount(train.get_pids()).tolist() == [3, 6, 1]
    assert np.bincount(test.get_pids()).tolist() == [2, 4, 1]
    tr = {train.get_data_info(i)['img_path'] for i in range(len(train))}
    te = {test.get_data_info(i)['img_path'] for i in range(len(test))}
    assert not tr & te and len(tr | te) == 17
    again = DATASETS.build(dict(cfg, split='train'))
    paths = [train.get_data_info(i)['img_path'] for i in range(len(train))]
    assert [again.get_data_info(i)['img_path']
            for i in range(len(again))] == paths
    other = DATASETS.build(dict(cfg, split='train', seed=4))
    assert {other.get_data_info(i)['img_path']
            for i in range(len(other))} != tr
    assert set(train.get_camids().tolist()) == {0}


def test_split_file_written_and_checked(tmp_path):
    root = tmp_path / 'aid'
    _make(root, dict(a=4, b=4))
    before = sorted(os.listdir(root))
    split_file = tmp_path / 'splits' / 'aid.json'
    cfg = dict(type='SceneFolder', data_root=str(root), split='test',
               split_file=str(split_file))
    first = DATASETS.build(cfg)
    assert split_file.is_file()
    assert sorted(os.listdir(root)) == before  # data folder untouched
    saved = json.loads(split_file.read_text())
    assert saved['seed'] == 0 and saved['train_ratio'] == 0.8
    again = DATASETS.build(cfg)
    assert len(again) == len(first)
    with pytest.raises(ValueError, match='aid.json'):
        DATASETS.build(dict(cfg, seed=1))


def test_scene_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='class folder'):
        (tmp_path / 'empty').mkdir()
        DATASETS.build(
            dict(type='SceneFolder', data_root=str(tmp_path / 'empty')))
    (tmp_path / 'x' / 'cls').mkdir(parents=True)
    (tmp_path / 'x' / 'other').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='cls'):
        DATASETS.build(dict(type='SceneFolder', data_root=str(tmp_path / 'x')))
    with pytest.raises(ValueError, match='train_ratio'):
        DATASETS.build(
            dict(type='SceneFolder', data_root=str(tmp_path), train_ratio=1))
