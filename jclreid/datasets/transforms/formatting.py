# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from jclreid.registry import TRANSFORMS
from jclreid.structures import ReIDDataSample


@TRANSFORMS.register_module()
class PackReIDInputs(BaseTransform):
    """Pack an image and its meta information for the model.

    The image becomes a (C, H, W) uint8 tensor under ``inputs``; ``img_path``,
    ``sample_idx``, ``pid``, ``camid`` and ``is_query`` (and any key in
    ``meta_keys`` that is present) go into the metainfo of a
    :class:`ReIDDataSample` under ``data_samples``.

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo.
            Defaults to ``('img_path', 'sample_idx', 'pid', 'camid',
            'is_query', 'ori_shape', 'img_shape', 'flip')``.
    """

    DEFAULT_META_KEYS = ('img_path', 'sample_idx', 'pid', 'camid', 'is_query',
                         'ori_shape', 'img_shape', 'flip')

    def __init__(self, meta_keys=DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('PackReIDInputs needs an "img" key: put '
                           'LoadImageFromFile before it in the pipeline')
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        img = np.ascontiguousarray(img.transpose(2, 0, 1))
        inputs = torch.from_numpy(img)
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        return dict(
            inputs=inputs, data_samples=ReIDDataSample(metainfo=metainfo))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
