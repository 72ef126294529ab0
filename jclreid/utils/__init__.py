# Copyright (c) jclreid contributors. All rights reserved.
from .compat import load_state_dict_file, register_checkpoint_loader
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'register_checkpoint_loader',
    'load_state_dict_file'
]
