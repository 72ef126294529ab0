# Copyright (c) jclreid contributors. All rights reserved.
import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from jclreid.registry import TRANSFORMS
from jclreid.structures import ReIDDataSample


def _img(h=16, w=8, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3),
                                               dtype=np.uint8)


def test_load_image_and_pack(tmp_path):
    img = _img()
    path = str(tmp_path / '0001_c1s1_000001_00.png')
    cv2.imwrite(path, img)
    pipeline = Compose([
        TRANSFORMS.build(dict(type='LoadImageFromFile')),
        TRANSFORMS.build(dict(type='Resize', scale=(4, 8), keep_ratio=False)),
        TRANSFORMS.build(dict(type='PackReIDInputs')),
    ])
    out = pipeline(
        dict(img_path=path, sample_idx=7, pid=1, camid=0, is_query=True))
    assert out['inputs'].shape == (3, 8, 4)
    assert out['inputs'].dtype == torch.uint8
    sample = out['data_samples']
    assert isinstance(sample, ReIDDataSample)
    assert (sample.sample_idx, sample.pid, sample.camid,
            sample.is_query) == (7, 1, 0, True)
    assert sample.img_path == path


def test_load_image_errors_name_the_file(tmp_path):
    load = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    missing = str(tmp_path / 'nope.jpg')
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        load(dict(img_path=missing))
    corrupt = tmp_path / 'bad.jpg'
    corrupt.write_bytes(b'not an image at all')
    with pytest.raises(OSError, match='bad.jpg'):
        load(dict(img_path=str(corrupt)))


def test_pack_requires_img():
    with pytest.raises(KeyError, match='LoadImageFromFile'):
        TRANSFORMS.build(dict(type='PackReIDInputs'))(dict(pid=1))


def test_pad_random_crop_keeps_size_and_translates():
    np.random.seed(0)
    img = _img(16, 8)
    t = TRANSFORMS.build(dict(type='PadRandomCrop', padding=2))
    seen_shift = False
    for _ in range(20):
        out = t(dict(img=img.copy()))['img']
        assert out.shape == img.shape
        if not np.array_equal(out, img):
            seen_shift = True
            # The crop is a translated window of the padded image.
            padded = cv2.copyMakeBorder(img, 2, 2, 2, 2, cv2.BORDER_CONSTANT,
                                        value=0)
            found = any(
                np.array_equal(padded[y:y + 16, x:x + 8], out)
                for y in range(5) for x in range(5))
            assert found
    assert seen_shift
    with pytest.raises(ValueError, match='padding'):
        TRANSFORMS.build(dict(type='PadRandomCrop', padding=-1))


def test_random_erasing():
    np.random.seed(1)
    img = np.full((32, 16, 3), 200, dtype=np.uint8)
    t = TRANSFORMS.build(dict(type='RandomErasing', prob=1.0, fill=0))
    out = t(dict(img=img.copy()))['img']
    erased = (out == 0).all(axis=2)
    assert erased.any()
    ys, xs = np.nonzero(erased)
    # One solid rectangle.
    assert erased[ys.min():ys.max() + 1, xs.min():xs.max() + 1].all()
    area = erased.sum() / erased.size
    assert 0.02 * 0.5 <= area <= 0.4 * 1.5
    # prob=0 leaves the image untouched.
    t0 = TRANSFORMS.build(dict(type='RandomErasing', prob=0.0))
    assert np.array_equal(t0(dict(img=img.copy()))['img'], img)
    with pytest.raises(ValueError, match='area_ratio'):
        TRANSFORMS.build(dict(type='RandomErasing', area_ratio=(0.5, 0.1)))


def test_color_jitter():
    np.random.seed(2)
    img = _img(16, 8)
    t = TRANSFORMS.build(
        dict(type='ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4, hue=0.1))
    out = t(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img)
    ident = TRANSFORMS.build(dict(type='ColorJitter'))
    assert np.array_equal(ident(dict(img=img.copy()))['img'], img)
    with pytest.raises(ValueError, match='hue'):
        TRANSFORMS.build(dict(type='ColorJitter', hue=0.7))


def test_mmcv_flip_in_scope():
    img = _img(4, 6)
    t = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0,
                              direction='horizontal'))
    out = t(dict(img=img.copy()))['img']
    assert np.array_equal(out, img[:, ::-1])
