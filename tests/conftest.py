# Copyright (c) jclreid contributors. All rights reserved.
"""Test-wide settings: one torch thread (2-core machines oversubscribe
badly), and every jclreid module registered under the default scope."""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')

import torch  # noqa: E402

from jclreid.utils import register_all_modules  # noqa: E402

torch.set_num_threads(1)
register_all_modules()
