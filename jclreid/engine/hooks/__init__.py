# Copyright (c) jclreid contributors. All rights reserved.
from .pseudo_label_hook import PseudoLabelHook
from .val_before_train_hook import ValBeforeTrainHook

__all__ = ['PseudoLabelHook', 'ValBeforeTrainHook']
