# Copyright (c) jclreid contributors. All rights reserved.
"""Low-level helpers. Nothing here imports :mod:`jclreid.models` or
:mod:`jclreid.engine` at import time, and importing it changes no global
state (:func:`register_all_modules` does, when called)."""
from .checkpoint import (UnsafeCheckpointError, load_checkpoint_file,
                         load_state_dict_file, register_checkpoint_loader,
                         trust_checkpoints)
from .dist import (all_gather_cat, broadcast_array, broadcast_buffers,
                   gather_by_index)
from .fileio import (AtomicLocalBackend, atomic_write,
                     register_atomic_local_backend)
from .model_state import CheckpointMismatchError, load_model_state
from .safe_globals import checkpoint_safe_globals
from .safe_pickle import load_plain_pickle
from .setup_env import (apply_global_batch_size, apply_num_threads,
                        launcher_world_size, register_all_modules,
                        setup_cpu_distributed, teardown_distributed)

__all__ = [
    'register_all_modules', 'register_checkpoint_loader',
    'register_atomic_local_backend', 'setup_cpu_distributed',
    'teardown_distributed',
    'load_state_dict_file', 'apply_num_threads', 'gather_by_index',
    'broadcast_array', 'broadcast_buffers', 'all_gather_cat', 'atomic_write',
    'AtomicLocalBackend', 'apply_global_batch_size', 'launcher_world_size',
    'UnsafeCheckpointError', 'CheckpointMismatchError',
    'checkpoint_safe_globals', 'load_checkpoint_file', 'load_model_state',
    'trust_checkpoints', 'load_plain_pickle'
]
