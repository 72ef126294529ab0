# Copyright (c) jclreid contributors. All rights reserved.
"""High-level APIs: features of images and gallery search."""
from .inferencer import ReIDInferencer

__all__ = ['ReIDInferencer']
