# Copyright (c) jclreid contributors. All rights reserved.
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import jclreid  # noqa: F401 - registers the atomic backend
from jclreid.utils import AtomicLocalBackend, atomic_write


def test_local_backend_is_atomic(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')),
                      AtomicLocalBackend)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'ckpt.pth'
    atomic_write(b'old', target)

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        atomic_write(b'new', target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['ckpt.pth']  # no temporary left


def test_save_checkpoint_goes_through_it(tmp_path):
    path = tmp_path / 'sub' / 'epoch_1.pth'
    save_checkpoint({'w': torch.ones(2)}, str(path))
    assert torch.equal(torch.load(path)['w'], torch.ones(2))
    assert os.listdir(tmp_path / 'sub') == ['epoch_1.pth']
