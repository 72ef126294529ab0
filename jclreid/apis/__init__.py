# Copyright (c) jclreid contributors. All rights reserved.
"""High-level APIs: features of images, gallery search, grouping a folder."""
from .grouping import group_folder
from .inferencer import ReIDInferencer

__all__ = ['ReIDInferencer', 'group_folder']
