# Copyright (c) jclreid contributors. All rights reserved.
from .compat import (CheckpointMismatchError, SafeCheckpointRunner,
                     UnsafeCheckpointError, checkpoint_safe_globals,
                     load_checkpoint_file, load_model_state,
                     load_state_dict_file, register_checkpoint_loader,
                     trust_checkpoints)
from .config import load_config
from .dist import (all_gather_cat, broadcast_array, broadcast_buffers,
                   gather_by_index)
from .fileio import AtomicLocalBackend, atomic_write
from .setup_env import (apply_global_batch_size, apply_num_threads,
                        launcher_world_size, register_all_modules,
                        setup_cpu_distributed)

__all__ = [
    'register_all_modules', 'register_checkpoint_loader',
    'setup_cpu_distributed', 'load_state_dict_file', 'apply_num_threads', 'gather_by_index',
    'broadcast_array', 'broadcast_buffers', 'all_gather_cat', 'load_config', 'atomic_write',
    'AtomicLocalBackend', 'apply_global_batch_size', 'launcher_world_size',
    'UnsafeCheckpointError', 'CheckpointMismatchError', 'SafeCheckpointRunner',
    'checkpoint_safe_globals', 'load_checkpoint_file', 'load_model_state',
    'trust_checkpoints'
]
