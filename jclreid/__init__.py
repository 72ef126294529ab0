# Copyright (c) jclreid contributors. All rights reserved.
"""jclreid: Joint Contrastive Learning for unsupervised re-identification."""
from .utils.compat import register_checkpoint_loader
from .utils.fileio import register_atomic_local_backend
from .version import __version__, version_info

# Run checkpoints written by mmengine must load under torch>=2.6, and are
# written atomically.
register_checkpoint_loader()
register_atomic_local_backend()

__all__ = ['__version__', 'version_info']
