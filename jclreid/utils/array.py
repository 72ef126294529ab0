# Copyright (c) jclreid contributors. All rights reserved.
"""Arrays that may be numpy arrays or torch tensors."""
from typing import Union

import numpy as np
import torch

#: What the functional APIs accept: a numpy array or a torch tensor (any
#: device).
ArrayLike = Union[np.ndarray, torch.Tensor]


def to_numpy(x: ArrayLike) -> np.ndarray:
    """A numpy view of an array or tensor (no copy for CPU tensors and
    arrays; a tensor on another device is copied to the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
