# Copyright (c) jclreid contributors. All rights reserved.
from .resnet import ReIDResNet
from .wam import CBAM, WAM, NonLocal2d, WaveBlock

__all__ = ['ReIDResNet', 'WAM', 'WaveBlock', 'CBAM', 'NonLocal2d']
