# Copyright (c) jclreid contributors. All rights reserved.
from mmcv.transforms import (CenterCrop, Pad, RandomApply, RandomChoice,
                             RandomFlip, RandomGrayscale, RandomResize,
                             Resize)

from jclreid.registry import TRANSFORMS
from .formatting import PackReIDInputs
from .loading import LoadImageFromFile
from .processing import ColorJitter, PadRandomCrop, RandomErasing

# mmcv's generic transforms, made visible in the jclreid scope.
for _t in (CenterCrop, Pad, RandomApply, RandomChoice, RandomFlip,
           RandomGrayscale, RandomResize, Resize):
    TRANSFORMS.register_module(module=_t)

__all__ = [
    'LoadImageFromFile', 'PackReIDInputs', 'PadRandomCrop', 'RandomErasing',
    'ColorJitter', 'CenterCrop', 'Pad', 'RandomApply', 'RandomChoice',
    'RandomFlip', 'RandomGrayscale', 'RandomResize', 'Resize'
]
