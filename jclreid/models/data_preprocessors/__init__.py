# Copyright (c) jclreid contributors. All rights reserved.
from .reid_data_preprocessor import ReIDDataPreprocessor

__all__ = ['ReIDDataPreprocessor']
