# Copyright (c) jclreid contributors. All rights reserved.
from .reid_data_sample import ReIDDataSample

__all__ = ['ReIDDataSample']
