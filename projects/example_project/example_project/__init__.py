# Copyright (c) jclreid contributors. All rights reserved.
"""An example jclreid plugin: a pseudo-label filter registered into
jclreid's ``CLUSTERERS`` registry from outside the package.

Importing this package (``custom_imports`` in a config does it) registers
:class:`MinClusterSizeFilter`.
"""
from .min_cluster_size_filter import MinClusterSizeFilter

__all__ = ['MinClusterSizeFilter']
