# Copyright (c) jclreid contributors. All rights reserved.
"""jclreid: Joint Contrastive Learning for unsupervised re-identification.

Importing jclreid (or any of its subpackages) changes no global state of
mmengine. :func:`jclreid.utils.register_all_modules` (called by the tools)
registers jclreid's modules, the safe checkpoint loaders and the atomic
local file backend; :class:`jclreid.engine.SafeCheckpointRunner` registers
the latter two as well.
"""
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
