# Copyright (c) jclreid contributors. All rights reserved.
"""scikit-learn's handwritten digits as a scene-folder dataset.

The 1,797 8x8 grey digits of :func:`sklearn.datasets.load_digits` (UCI
optical recognition of handwritten digits, test part; ten classes) ship with
scikit-learn, so they are real images that need no download. They are
written once as class folders and read back by the real
:class:`SceneFolder` loader, like the synthetic aerial scenes.
"""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

from jclreid.registry import DATASETS
from .scene_folder import SceneFolder
from .synthetic.generate import ensure_generated

_INTERPOLATIONS = dict(
    nearest=cv2.INTER_NEAREST,
    linear=cv2.INTER_LINEAR,
    cubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA)


def generate_digits(out_dir: str,
                    img_size: int = 32,
                    interpolation: str = 'cubic') -> Dict[str, int]:
    """Write scikit-learn's digits as ``out_dir/<digit>/<index>.png``.

    Pixel values 0-16 are scaled to 0-255 (white ink on black), upscaled to
    ``img_size`` and written as single-channel PNGs (loaders read them as
    three equal channels). ``<index>`` is the sample's index in
    :func:`sklearn.datasets.load_digits`, zero-padded to four digits.

    Args:
        out_dir (str): Output folder (created).
        img_size (int): Side of the written images. Defaults to 32.
        interpolation (str): ``'nearest'``, ``'linear'``, ``'cubic'`` or
            ``'area'``. Defaults to ``'cubic'``.

    Returns:
        dict: Number of images per digit, keyed by the folder name.
    """
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'SklearnDigits.interpolation must be one of '
                         f'{sorted(_INTERPOLATIONS)}, got {interpolation!r}')
    if int(img_size) < 8:
        raise ValueError(
            f'SklearnDigits.img_size must be >= 8, got {img_size}')
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = digits.images.astype(np.float32) * (255.0 / 16.0)
    counts: Dict[str, int] = {}
    for idx, (img, label) in enumerate(zip(images, digits.target)):
        if img_size != img.shape[0]:
            img = cv2.resize(
                img, (img_size, img_size),
                interpolation=_INTERPOLATIONS[interpolation])
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        name = str(int(label))
        folder = osp.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, f'{idx:04d}.png')
        if not cv2.imwrite(path, img):
            raise OSError(f'could not write {path!r}')
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


@DATASETS.register_module()
class SklearnDigits(SceneFolder):
    """scikit-learn's 1,797 handwritten digits (10 classes), written as class
    folders on first use.

    If ``data_root`` is absent or empty, the digits are written there as
    ``<data_root>/<digit>/<index>.png`` (once, atomically, on rank 0; a
    folder written with another ``img_size`` or ``interpolation`` is
    refused). Then the real :class:`SceneFolder` loader reads them: ``pid`` is
    the digit, ``camid`` 0, and the train/test split is stratified by digit,
    deterministic from ``seed`` and ``train_ratio``.

    Args:
        data_root (str): Folder of the written digits.
        split (str): ``'train'`` or ``'test'``.
        img_size (int): Side of the written images (the originals are
            8x8). Defaults to 32.
        interpolation (str): Upscaling, ``'nearest'``, ``'linear'``,
            ``'cubic'`` or ``'area'``. Defaults to ``'cubic'``.
        **kwargs: See :class:`SceneFolder` (``seed``, ``train_ratio``,
            ``split_file``, ...).
    """

    METAINFO = dict(dataset_name='SklearnDigits')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 img_size: int = 32,
                 interpolation: str = 'cubic',
                 **kwargs) -> None:
        ensure_generated(
            data_root,
            'sklearn_digits',
            generate_digits,
            img_size=int(img_size),
            interpolation=interpolation)
        super().__init__(data_root=data_root, split=split, **kwargs)
