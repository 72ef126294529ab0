# Copyright (c) jclreid contributors. All rights reserved.
"""PRAI1581 on a tiny fixture in the PRAI-1581 layout (``images/`` and a
``partitions.pkl`` written with the standard pickle module)."""
import os
import pickle
import re

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from jclreid.datasets import PRAI1581
from jclreid.registry import DATASETS
from jclreid.utils.safe_pickle import UnsafePickleError

TRAIN = [
    '00000009_0002_00000004.jpg', '00000005_0001_00000001.jpg',
    '00000005_0002_00000002.jpg', '00000009_0001_00000003.jpg',
    '00000012_0001_00000005.jpg'
]
TEST = [
    '00000003_0001_00000010.jpg',  # query
    '00000003_0002_00000011.jpg',  # gallery
    '00000007_0002_00000012.jpg',  # query
    '00000007_0001_00000013.jpg',  # gallery
    '00000003_0002_00000014.jpg',  # gallery
]
MARKS = [0, 1, 0, 1, 1]
REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_partitions(root, **parts):
    with open(os.path.join(root, 'partitions.pkl'), 'wb') as f:
        pickle.dump(parts, f, protocol=2)  # as a Python 2 tool writes it


def _make_prai(root, train=TRAIN, test=TEST, marks=MARKS, images=None):
    """A PRAI-1581 folder: one tiny image per listed name (or per name of
    ``images``) and the partition file, with an extra key as in the real
    file."""
    os.makedirs(os.path.join(root, 'images'), exist_ok=True)
    img = np.full((12, 6, 3), 127, np.uint8)
    for name in (list(train) + list(test) if images is None else images):
        cv2.imwrite(os.path.join(root, 'images', name), img)
    _write_partitions(
        root,
        trainval_im_names=list(train),
        test_im_names=list(test),
        test_marks=list(marks),
        val_marks=[])
    return root


def _build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='PRAI1581', data_root=str(root), split=split, **kwargs))


@pytest.fixture
def prai(tmp_path):
    return _make_prai(str(tmp_path / 'PRAI-1581'))


def _names(ds):
    return [
        os.path.basename(ds.get_data_info(i)['img_path'])
        for i in range(len(ds))
    ]


def test_splits_pids_and_cameras(prai):
    before = sorted(os.listdir(os.path.join(prai, 'images')))
    train = _build(prai, 'train')
    assert _names(train) == TRAIN  # the partition file's order
    # raw ids 9, 5, 5, 9, 12 relabelled in the order of the raw ids
    assert train.get_pids().tolist() == [1, 0, 0, 1, 2]
    assert train.get_camids().tolist() == [1, 0, 1, 0, 0]
    assert train.metainfo['num_pids'] == 3
    assert train.metainfo['num_cameras'] == 2
    assert train.metainfo['dataset_name'] == 'PRAI1581'
    assert all(not train.get_data_info(i)['is_query'] for i in range(5))

    query = _build(prai, 'query')
    assert _names(query) == [TEST[0], TEST[2]]
    assert query.get_pids().tolist() == [3, 7]  # raw ids, not relabelled
    assert query.get_camids().tolist() == [0, 1]
    gallery = _build(prai, 'gallery')
    assert _names(gallery) == [TEST[1], TEST[3], TEST[4]]
    assert gallery.get_pids().tolist() == [3, 7, 3]
    assert gallery.get_camids().tolist() == [1, 0, 1]

    test = _build(prai, 'test')
    assert _names(test) == _names(query) + _names(gallery)
    flags = [test.get_data_info(i)['is_query'] for i in range(len(test))]
    assert flags == [True, True, False, False, False]
    assert test.get_data_info(4)['sample_idx'] == 4
    assert sorted(os.listdir(os.path.join(prai, 'images'))) == before


def test_loads_images_through_pipeline(prai):
    ds = _build(prai, 'query', pipeline=[dict(type='LoadImageFromFile')])
    assert isinstance(ds, PRAI1581)
    assert ds[0]['img'].shape == (12, 6, 3)


def test_camid_offset(tmp_path):
    names = ['00000001_0000_00000001.jpg', '00000002_0001_00000002.jpg']
    root = _make_prai(str(tmp_path / 'p'), train=names)
    with pytest.raises(ValueError, match='out of range.*camid_offset'):
        _build(root, 'train')
    ds = _build(root, 'train', camid_offset=0)
    assert ds.get_camids().tolist() == [0, 1]
    with pytest.raises(ValueError, match='camid_offset must be >= 0'):
        _build(root, 'train', camid_offset=-1)
    with pytest.raises(TypeError, match='camid_offset must be an int'):
        _build(root, 'train', camid_offset=1.0)


def test_missing_partitions_file(tmp_path):
    root = _make_prai(str(tmp_path / 'p'))
    os.remove(os.path.join(root, 'partitions.pkl'))
    with pytest.raises(FileNotFoundError,
                       match=r"partitions\.pkl' does not exist.*images/"):
        _build(root, 'train')
    with pytest.raises(FileNotFoundError, match='data_root'):
        _build(tmp_path / 'nowhere', 'train')


def test_missing_images_folder_and_image(tmp_path):
    root = _make_prai(str(tmp_path / 'p'), images=TRAIN[:-1] + TEST)
    with pytest.raises(FileNotFoundError) as e:
        _build(root, 'train')
    msg = str(e.value)
    assert TRAIN[-1] in msg and 'does not exist' in msg
    assert "entry 4 of 'trainval_im_names'" in msg and 'partitions.pkl' in msg
    assert len(_build(root, 'test')) == 5  # the test images are all there

    bare = str(tmp_path / 'bare')
    os.makedirs(bare)
    _write_partitions(
        bare, trainval_im_names=TRAIN, test_im_names=TEST, test_marks=MARKS)
    with pytest.raises(FileNotFoundError, match=r"images' does not exist"):
        _build(bare, 'train')


@pytest.mark.parametrize(
    'name,match',
    [('abc_0001_00000001.jpg', 'does not match the pattern'),
     ('00000001-0001-00000001.jpg', 'does not match the pattern'),
     ('00000001_0001.jpg', 'does not match the pattern'),
     ('-1_0001_00000001.jpg', 'does not match the pattern'),
     ('00000001_c1_00000001.jpg', 'does not match the pattern'),
     ('../00000001_0001_00000001.jpg', 'relative to'),
     ('/abs/00000001_0001_00000001.jpg', 'relative to')])
def test_malformed_names(tmp_path, name, match):
    root = _make_prai(str(tmp_path / 'p'), train=TRAIN[:2] + [name],
                      images=TRAIN[:2] + TEST)
    with pytest.raises(ValueError, match=match) as e:
        _build(root, 'train')
    msg = str(e.value)
    assert "entry 2 of 'trainval_im_names'" in msg
    assert 'partitions.pkl' in msg and repr(name) in msg


@pytest.mark.parametrize(
    'parts,match',
    [(dict(test_im_names=TEST, test_marks=MARKS),
      "no key 'trainval_im_names'"),
     (dict(trainval_im_names=TRAIN, test_im_names=TEST),
      "no key 'test_marks'"),
     (dict(trainval_im_names='x.jpg', test_im_names=TEST, test_marks=MARKS),
      "'trainval_im_names' .* is a str; expected a list"),
     (dict(trainval_im_names=[1], test_im_names=TEST, test_marks=MARKS),
      "entry 0 of 'trainval_im_names' .* expected an image file name"),
     (dict(trainval_im_names=TRAIN, test_im_names=TEST, test_marks=[0, 1]),
      '2 test_marks for 5 test_im_names'),
     (dict(trainval_im_names=TRAIN, test_im_names=TEST,
           test_marks=[0, 1, 2, 1, 1]),
      r'entry 2 of test_marks .* is 2; expected 0 \(query\) or 1'),
     (dict(trainval_im_names=[], test_im_names=TEST, test_marks=MARKS),
      'lists no trainval_im_names image')])
def test_malformed_partitions(tmp_path, parts, match):
    root = _make_prai(str(tmp_path / 'p'))
    _write_partitions(root, **parts)
    with pytest.raises(ValueError, match=match) as e:
        _build(root, 'train')
    assert 'partitions.pkl' in str(e.value)


def test_no_query(tmp_path):
    root = _make_prai(str(tmp_path / 'p'), marks=[1] * 5)
    assert len(_build(root, 'gallery')) == 5
    with pytest.raises(ValueError, match=r'no test_im_names with test_marks '
                       r'0 \(query\)'):
        _build(root, 'test')


def test_not_a_dict(tmp_path):
    root = _make_prai(str(tmp_path / 'p'))
    with open(os.path.join(root, 'partitions.pkl'), 'wb') as f:
        pickle.dump([TRAIN, TEST, MARKS], f)
    with pytest.raises(ValueError, match=r'holds a list; expected a dict'):
        _build(root, 'train')


class _Payload:
    """Unpickles as ``os.system('touch <marker>')``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_crafted_partitions_run_no_code(tmp_path):
    root = _make_prai(str(tmp_path / 'p'))
    marker = tmp_path / 'pwned'
    with open(os.path.join(root, 'partitions.pkl'), 'wb') as f:
        pickle.dump(
            dict(
                trainval_im_names=TRAIN,
                test_im_names=TEST,
                test_marks=MARKS,
                evil=_Payload(marker)), f)
    with pytest.raises(UnsafePickleError) as e:
        _build(root, 'train')
    assert 'partitions.pkl' in str(e.value)
    assert 'system' in str(e.value)  # the refused global is named
    assert not marker.exists()


def test_market_layout_copy_loads_through_reid_folder(tmp_path):
    """The ``ReIDFolder`` example of docs/en/datasets.md, as written, over
    the Market-1501 dataset config, on the Market-layout copy of the
    fixture."""
    with open(os.path.join(REPO, 'docs', 'en', 'datasets.md'),
              encoding='utf-8') as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.DOTALL)
    block, = [b for b in blocks if 'PRAI-1581-market' in b]
    root = tmp_path / 'PRAI-1581-market'
    img = np.zeros((12, 6, 3), np.uint8)
    for folder, names in (('bounding_box_train', TRAIN),
                          ('query', [TEST[0], TEST[2]]),
                          ('bounding_box_test', [TEST[1], TEST[3], TEST[4]])):
        os.makedirs(root / folder)
        for name in names:
            cv2.imwrite(str(root / folder / name), img)
    base = os.path.join(REPO, 'configs', '_base_', 'datasets',
                        'market1501.py')
    cfg_file = tmp_path / 'prai_folder.py'
    cfg_file.write_text(
        f'_base_ = [{base!r}]\n' +
        block.replace("'data/PRAI-1581-market'", repr(str(root))))
    cfg = Config.fromfile(str(cfg_file))
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert type(train).__name__ == 'ReIDFolder'
    assert sorted(train.get_pids().tolist()) == [5, 5, 9, 9, 12]  # raw ids
    assert train.get_camids().tolist() == [0, 1, 0, 1, 0]  # sorted names
    test = DATASETS.build(cfg.test_dataloader.dataset)
    prai = _build(_make_prai(str(tmp_path / 'p')), 'test')

    def items(ds):  # (is_query, pid, camid), in no particular order
        return sorted((d['is_query'], d['pid'], d['camid'])
                      for d in map(ds.get_data_info, range(len(ds))))

    assert items(test) == items(prai)
