# Copyright (c) jclreid contributors. All rights reserved.
from .checkpoint_hook import SafeCheckpointHook
from .non_finite_check_hook import NonFiniteCheckHook
from .pseudo_label_hook import PseudoLabelHook
from .random_state_hook import RandomStateHook
from .val_before_train_hook import ValBeforeTrainHook

__all__ = [
    'PseudoLabelHook', 'ValBeforeTrainHook', 'SafeCheckpointHook',
    'RandomStateHook', 'NonFiniteCheckHook'
]
