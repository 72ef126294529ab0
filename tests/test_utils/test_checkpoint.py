# Copyright (c) jclreid contributors. All rights reserved.
"""jclreid.utils.checkpoint (and its allow-list, jclreid.utils.safe_globals):
run checkpoints written by mmengine must resume under torch>=2.6, with
``weights_only=True`` and the allow-list of ``checkpoint_safe_globals``."""
import copy
import io

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from jclreid.utils import (UnsafeCheckpointError, load_checkpoint_file,
                           load_state_dict_file, register_checkpoint_loader)
from _toy_runner import ToyData, toy_loader, toy_runner  # tests/ helper


class _StopAfter(Hook):
    """Simulates an interrupted run: stops after ``epochs`` epochs."""

    def __init__(self, epochs):
        self.epochs = epochs

    def after_train_epoch(self, runner):
        if runner.epoch + 1 >= self.epochs:
            runner.train_loop.stop_training = True


def _runner(work_dir, max_epochs, **kwargs):
    """A plain mmengine Runner: its resume goes through the registered
    loaders."""
    return toy_runner(
        work_dir,
        runner_cls=Runner,
        max_epochs=max_epochs,
        train_dataloader=toy_loader(length=8, batch_size=4, shuffle=True),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[2], gamma=0.1),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        **kwargs)


def test_local_loader_is_registered():
    register_checkpoint_loader()
    for path in ('/some/file.pth', 'https://x/y.pth', 'torchvision://resnet18',
                 'open-mmlab://x', 'mmcls://x', 's3://bucket/x.pth'):
        loader = CheckpointLoader._get_checkpoint_loader(path)
        assert loader.__module__ == 'jclreid.utils.checkpoint', path


class _GetAttr:
    """Pickles as getattr(HistoryBuffer, name)."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return (getattr, (HistoryBuffer, self.name))


def test_history_buffer_getattr_is_restricted(tmp_path):
    path = tmp_path / 'stats.pth'
    torch.save({'m': _GetAttr('mean')}, path)
    assert load_checkpoint_file(str(path))['m'] is HistoryBuffer.mean
    torch.save({'m': _GetAttr('__init__')}, path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_file(str(path))


def test_numpy_1_and_2_names_load(tmp_path):
    """A checkpoint naming numpy 1.x's ``numpy.core.multiarray`` (or 2.x's
    ``numpy._core``) loads under either numpy."""
    buf = io.BytesIO()
    torch.save({
        'x': np.float64(1.5),
        'a': np.arange(3),
        'b': np.bool_(True)
    },
               buf,
               _use_new_zipfile_serialization=False)  # plain pickle
    raw = buf.getvalue()
    for old, new in ((b'numpy._core.multiarray', b'numpy.core.multiarray'),
                     (b'numpy.core.multiarray', b'numpy._core.multiarray')):
        path = tmp_path / 'np.pth'
        path.write_bytes(raw.replace(old, new))
        ckpt = load_checkpoint_file(str(path))
        assert ckpt['x'] == 1.5 and ckpt['a'].tolist() == [0, 1, 2]
        assert ckpt['b']


def test_save_then_resume_matches_uninterrupted(tmp_path):
    full = _runner(tmp_path / 'full', 3)
    full.train()
    expected = copy.deepcopy(full.model.state_dict())

    part = _runner(tmp_path / 'part', 3, custom_hooks=[_StopAfter(2)])
    part.train()
    assert not (tmp_path / 'part' / 'epoch_3.pth').exists()
    ckpt = tmp_path / 'part' / 'epoch_2.pth'
    assert ckpt.is_file()
    # A run checkpoint holds more than tensors: plain weights_only fails.
    with pytest.raises(Exception):
        torch.load(ckpt, weights_only=True)

    resumed = _runner(tmp_path / 'part', 3, resume=True, load_from=str(ckpt))
    resumed.train()
    assert resumed.train_loop.epoch == 3
    for key, value in expected.items():
        torch.testing.assert_close(
            resumed.model.state_dict()[key], value, rtol=0, atol=0)


def test_load_state_dict_file_is_tensor_only(tmp_path):
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, path)
    assert torch.equal(load_state_dict_file(str(path))['w'], torch.ones(2))
    torch.save({'w': torch.ones(1), 'obj': ToyData()}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        load_state_dict_file(str(tmp_path / 'evil.pth'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_state_dict_file(str(tmp_path / 'missing.pth'))
