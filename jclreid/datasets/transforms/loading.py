# Copyright (c) jclreid contributors. All rights reserved.
import os.path as osp
from typing import Optional

import mmcv
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmengine import fileio

from jclreid.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromFile(MMCVLoadImageFromFile):
    """Load an image from ``results['img_path']`` (mmcv's loader, BGR uint8).

    Unlike mmcv's version, a missing or undecodable file raises an error that
    names the file, so one corrupt crop in a folder of thousands is easy to
    find.

    Required keys: ``img_path``. Added keys: ``img`` (H, W, 3) uint8,
    ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'image file {filename!r} does not exist') from e
        img = None
        if img_bytes:
            try:
                img = mmcv.imfrombytes(
                    img_bytes,
                    flag=self.color_type,
                    backend=self.imdecode_backend)
            except Exception:  # noqa: BLE001 - decoders raise many types
                img = None
        if img is None:
            if self.ignore_empty:
                return None
            ext = osp.splitext(filename)[1]
            raise OSError(
                f'image file {filename!r} could not be decoded '
                f'({len(img_bytes or b"")} bytes); expected a readable '
                f'image (.jpg/.png/.tif), got a corrupt or empty {ext} file')
        if self.to_float32:
            img = img.astype('float32')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
