# Copyright (c) jclreid contributors. All rights reserved.
import hashlib
import json
import os

import cv2
import numpy as np
import pytest

from jclreid.datasets.sklearn_digits import generate_digits
from jclreid.registry import DATASETS

# The class sizes of sklearn.datasets.load_digits (1,797 images).
COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def _digest(root):
    """Hash of every image's relative path and bytes (not meta.json)."""
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not name.endswith('.png'):
                continue
            h.update(
                os.path.relpath(os.path.join(dirpath, name), root).encode())
            with open(os.path.join(dirpath, name), 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


@pytest.fixture(scope='module')
def digits_root(tmp_path_factory):
    """One generation at 16x16, shared by the tests of this module."""
    root = tmp_path_factory.mktemp('digits') / 'd'
    cfg = dict(
        type='SklearnDigits',
        data_root=str(root),
        img_size=16,
        train_ratio=0.6)
    train = DATASETS.build(dict(cfg, split='train'))
    return root, cfg, train


def test_generation_layout_and_counts(digits_root):
    root, _, _ = digits_root
    assert sorted(os.listdir(root)) == [str(d)
                                        for d in range(10)] + ['meta.json']
    meta = json.load(open(root / 'meta.json'))
    assert meta['params'] == dict(
        generator='sklearn_digits', img_size=16, interpolation='cubic')
    assert [meta['counts'][str(d)] for d in range(10)] == COUNTS
    assert [len(os.listdir(root / str(d))) for d in range(10)] == COUNTS
    assert '0000.png' in os.listdir(root / '0')  # sample 0 is a zero
    img = cv2.imread(str(root / '0' / '0000.png'), cv2.IMREAD_UNCHANGED)
    assert img.shape == (16, 16) and img.dtype == np.uint8
    assert img.min() == 0 and img.max() > 200  # black ground, white ink
    # Read as the loaders do: three equal channels.
    img3 = cv2.imread(str(root / '0' / '0000.png'))
    assert img3.shape == (16, 16, 3)
    assert (img3 == img[..., None]).all()
    assert not [p for p in os.listdir(root.parent) if p.startswith('.d')]


def test_split_sizes_and_labels(digits_root):
    root, cfg, train = digits_root
    test = DATASETS.build(dict(cfg, split='test'))
    assert len(train) + len(test) == 1797
    assert train.metainfo['classes'] == tuple(str(d) for d in range(10))
    n_train = [int(round(0.6 * n)) for n in COUNTS]
    assert np.bincount(train.get_pids()).tolist() == n_train
    assert np.bincount(
        test.get_pids()).tolist() == [n - t for n, t in zip(COUNTS, n_train)]
    assert set(train.get_camids().tolist()) == {0}
    tr = {train.get_data_info(i)['img_path'] for i in range(len(train))}
    te = {test.get_data_info(i)['img_path'] for i in range(len(test))}
    assert not tr & te
    # The label is the digit of the folder.
    for i in (0, len(train) - 1):
        info = train.get_data_info(i)
        assert os.path.basename(os.path.dirname(info['img_path'])) == str(
            info['pid'])
    other = DATASETS.build(dict(cfg, split='train', seed=1))
    assert len(other) == len(train)
    assert {other.get_data_info(i)['img_path']
            for i in range(len(other))} != tr


def test_reuse_and_refusal(digits_root):
    root, cfg, _ = digits_root
    mtime = os.path.getmtime(root / 'meta.json')
    DATASETS.build(dict(cfg, split='test'))
    assert os.path.getmtime(root / 'meta.json') == mtime
    with pytest.raises(ValueError, match='generated with'):
        DATASETS.build(dict(cfg, img_size=8))
    with pytest.raises(ValueError, match='generated with'):
        DATASETS.build(dict(cfg, interpolation='nearest'))


def test_regeneration_is_byte_identical(digits_root, tmp_path):
    root, _, _ = digits_root
    counts = generate_digits(str(tmp_path / 'again'), img_size=16)
    assert list(counts.values()) == COUNTS
    assert _digest(tmp_path / 'again') == _digest(root)
    generate_digits(
        str(tmp_path / 'nearest'), img_size=16, interpolation='nearest')
    assert _digest(tmp_path / 'nearest') != _digest(root)


def test_bad_arguments(tmp_path):
    cfg = dict(type='SklearnDigits')
    with pytest.raises(ValueError, match='interpolation'):
        DATASETS.build(
            dict(cfg, data_root=str(tmp_path / 'x'), interpolation='lanczos'))
    with pytest.raises(ValueError, match='img_size'):
        DATASETS.build(dict(cfg, data_root=str(tmp_path / 'y'), img_size=4))
    assert not os.path.exists(tmp_path / 'x')
    assert not os.path.exists(tmp_path / 'y')
