# Copyright (c) jclreid contributors. All rights reserved.
"""jclreid: Joint Contrastive Learning for unsupervised re-identification."""
from .utils.compat import register_checkpoint_loader
from .version import __version__, version_info

# Run checkpoints written by mmengine must load under torch>=2.6.
register_checkpoint_loader()

__all__ = ['__version__', 'version_info']
