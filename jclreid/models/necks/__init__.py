# Copyright (c) jclreid contributors. All rights reserved.
from .reid_neck import GeneralizedMeanPooling, ReIDNeck

__all__ = ['ReIDNeck', 'GeneralizedMeanPooling']
