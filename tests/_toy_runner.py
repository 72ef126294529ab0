# Copyright (c) jclreid contributors. All rights reserved.
"""A toy model, data set and runner for the tests that train a few CPU
iterations (checkpoint loading and saving, resume, non-finite losses).

Importable as ``_toy_runner`` from the test modules: pytest puts ``tests/``
on ``sys.path`` for ``tests/conftest.py``.
"""
import uuid
from typing import Optional

import torch
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from jclreid.engine import SafeCheckpointRunner

__all__ = ['ToyModel', 'ToyData', 'toy_loader', 'toy_runner']


def _stack(values):
    return torch.stack(values) if isinstance(values, list) else values


class ToyModel(BaseModel):
    """``linear(inputs)`` with a squared-error loss.

    Modes: ``'loss'`` returns :meth:`loss` of the outputs and labels,
    ``'predict'`` one ``dict(pred=...)`` per sample (for a metric) and
    ``'tensor'`` the outputs.

    Args:
        width (int): Input size. Defaults to 2.
    """

    def __init__(self, width: int = 2):
        super().__init__()
        self.linear = torch.nn.Linear(width, 1)

    def loss(self, out: torch.Tensor, labels: torch.Tensor) -> dict:
        """The losses of outputs ``out`` (N, ) against ``labels`` (N, )."""
        return dict(loss=((out - labels)**2).mean())

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(_stack(inputs))
        if mode == 'loss':
            return self.loss(out.squeeze(1), _stack(labels))
        if mode == 'predict':
            return [dict(pred=o) for o in out]
        return out


class ToyData(Dataset):
    """``length`` samples ``i``: inputs ``(i, i)``, label
    ``label_scale * 2i``."""

    def __init__(self, length: int = 4, label_scale: float = 1.0):
        self.length = length
        self.label_scale = label_scale

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        x = torch.full((2, ), float(i))
        return dict(inputs=x, labels=x.sum() * self.label_scale)


def toy_loader(batch_size: int = 2, shuffle: bool = False, **data) -> dict:
    """A dataloader config over ``ToyData(**data)``, no workers."""
    return dict(
        dataset=ToyData(**data),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        batch_size=batch_size,
        num_workers=0)


def toy_runner(work_dir,
               model: Optional[BaseModel] = None,
               max_epochs: Optional[int] = None,
               runner_cls: type = SafeCheckpointRunner,
               lr: float = 0.1,
               checkpoint: Optional[dict] = None,
               **kwargs):
    """A runner in the ``jclreid`` scope, built after ``manual_seed(0)``.

    Args:
        work_dir: The work dir.
        model (BaseModel, optional): Defaults to a new :class:`ToyModel`.
        max_epochs (int, optional): Given: a training run of that many
            epochs over :func:`toy_loader` (unless ``train_dataloader`` is
            given) with SGD(``lr``) (unless ``optim_wrapper`` is given) and
            a checkpoint every epoch. None: no training parts.
        runner_cls (type): Defaults to :class:`SafeCheckpointRunner`.
        lr (float): SGD learning rate. Defaults to 0.1.
        checkpoint (dict, optional): Overrides of the checkpoint hook
            config ``dict(type='CheckpointHook', interval=1)``.
        **kwargs: Passed to the runner; ``default_hooks`` are added to the
            checkpoint hook.
    """
    torch.manual_seed(0)
    if max_epochs is not None:
        kwargs.setdefault('train_dataloader', toy_loader())
        kwargs.setdefault('optim_wrapper',
                          dict(optimizer=dict(type='SGD', lr=lr)))
        kwargs['train_cfg'] = dict(by_epoch=True, max_epochs=max_epochs)
        hooks = dict(
            checkpoint=dict(
                dict(type='CheckpointHook', interval=1), **(checkpoint or {})))
        hooks.update(kwargs.pop('default_hooks', {}))
        kwargs['default_hooks'] = hooks
    return runner_cls(
        model=ToyModel() if model is None else model,
        work_dir=str(work_dir),
        experiment_name=f'toy_{uuid.uuid4().hex[:8]}',
        default_scope='jclreid',
        **kwargs)
