# Copyright (c) jclreid contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest

from jclreid.registry import DATASETS


def _touch(folder, names, size=(8, 4)):
    os.makedirs(folder, exist_ok=True)
    img = np.zeros(size + (3, ), np.uint8)
    for name in names:
        cv2.imwrite(os.path.join(folder, name), img)


def _listing(root):
    return sorted(
        (dirpath, tuple(sorted(files)))
        for dirpath, _, files in os.walk(root))


@pytest.fixture
def market(tmp_path):
    root = tmp_path / 'market'
    _touch(root / 'bounding_box_train', [
        '0002_c1s1_000451_03.jpg', '0002_c2s1_000551_01.jpg',
        '0007_c3s3_012345_02.jpg', '-1_c1s1_000001_00.jpg'
    ])
    _touch(root / 'query', ['0001_c1s1_001051_00.jpg',
                            '0003_c6s1_001051_00.jpg'])
    _touch(root / 'bounding_box_test', [
        '0001_c2s1_000301_01.jpg', '0000_c1s1_000151_01.jpg',
        '-1_c1s1_000001_00.jpg', '0003_c5s1_000001_00.jpg'
    ])
    return root


def test_market1501_splits(market):
    before = _listing(market)
    train = DATASETS.build(
        dict(type='Market1501', data_root=str(market), split='train'))
    assert len(train) == 3  # junk dropped
    assert train.get_pids().tolist() == [2, 2, 7]
    assert train.get_camids().tolist() == [0, 1, 2]
    assert train.metainfo['num_pids'] == 2
    assert train.metainfo['num_cameras'] == 3
    info = train.get_data_info(2)
    assert info['sample_idx'] == 2 and info['is_query'] is False
    gallery = DATASETS.build(
        dict(type='Market1501', data_root=str(market), split='gallery'))
    assert sorted(gallery.get_pids().tolist()) == [0, 1, 3]  # distractor kept
    test = DATASETS.build(
        dict(type='Market1501', data_root=str(market), split='test'))
    assert len(test) == 5
    flags = [test.get_data_info(i)['is_query'] for i in range(len(test))]
    assert flags == [True, True, False, False, False]
    assert test.get_camids().tolist()[:2] == [0, 5]
    assert _listing(market) == before  # loading never writes


def test_market1501_errors(tmp_path, market):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        DATASETS.build(
            dict(type='Market1501', data_root=str(tmp_path / 'nowhere')))
    with pytest.raises(ValueError, match='split'):
        DATASETS.build(
            dict(type='Market1501', data_root=str(market), split='val'))
    bad = tmp_path / 'bad'
    _touch(bad / 'bounding_box_train', ['person_01.jpg'])
    with pytest.raises(ValueError, match='person_01.jpg.*0001_c1s1'):
        DATASETS.build(dict(type='Market1501', data_root=str(bad)))
    missing = tmp_path / 'missing'
    _touch(missing / 'bounding_box_train', ['0001_c1s1_000001_00.jpg'])
    with pytest.raises(FileNotFoundError, match='query'):
        DATASETS.build(
            dict(type='Market1501', data_root=str(missing), split='test'))


def test_duke(tmp_path):
    root = tmp_path / 'duke'
    _touch(root / 'bounding_box_train',
           ['0005_c2_f0046985.jpg', '0005_c5_f0051781.jpg'])
    ds = DATASETS.build(dict(type='DukeMTMCReID', data_root=str(root)))
    assert ds.get_pids().tolist() == [5, 5]
    assert ds.get_camids().tolist() == [1, 4]


def test_msmt17(tmp_path):
    root = tmp_path / 'msmt'
    _touch(root / 'train' / '0000', ['0000_000_01_0303morning_0015_0.jpg'])
    _touch(root / 'train' / '0001', ['0001_003_07_0303noon_0020_1.jpg'])
    _touch(root / 'test' / '0000', ['0000_001_05_0303morning_0035_0.jpg',
                                    '0000_002_14_0303noon_0001_1.jpg'])
    (root / 'list_train.txt').write_text(
        '0000/0000_000_01_0303morning_0015_0.jpg 0\n')
    (root / 'list_val.txt').write_text(
        '0001/0001_003_07_0303noon_0020_1.jpg 1\n')
    (root / 'list_query.txt').write_text(
        '0000/0000_001_05_0303morning_0035_0.jpg 0\n')
    (root / 'list_gallery.txt').write_text(
        '0000/0000_002_14_0303noon_0001_1.jpg 0\n')
    train = DATASETS.build(dict(type='MSMT17', data_root=str(root)))
    assert train.get_pids().tolist() == [0, 1]
    assert train.get_camids().tolist() == [0, 6]
    test = DATASETS.build(
        dict(type='MSMT17', data_root=str(root), split='test'))
    assert test.get_camids().tolist() == [4, 13]
    (root / 'list_query.txt').write_text('garbage\n')
    with pytest.raises(ValueError, match='list_query.txt'):
        DATASETS.build(dict(type='MSMT17', data_root=str(root),
                            split='query'))


def test_reid_folder(tmp_path):
    root = tmp_path / 'crops'
    _touch(root / 'train', ['id12_cam3_a.png', 'id12_cam1_b.png',
                            'id4_cam2_c.png'])
    ds = DATASETS.build(
        dict(
            type='ReIDFolder',
            data_root=str(root),
            pattern=r'id(?P<pid>\d+)_cam(?P<camid>\d+)'))
    assert ds.get_pids().tolist() == [12, 12, 4]
    assert ds.get_camids().tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match='pid'):
        DATASETS.build(
            dict(type='ReIDFolder', data_root=str(root), pattern=r'\d+'))
    with pytest.raises(ValueError, match='does not match'):
        DATASETS.build(
            dict(type='ReIDFolder', data_root=str(root),
                 pattern=r'x(?P<pid>\d+)_cam(?P<camid>\d+)'))
