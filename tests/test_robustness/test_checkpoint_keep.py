# Copyright (c) jclreid contributors. All rights reserved.
"""A run killed while saving keeps its previous checkpoint, whatever
``max_keep_ckpts`` is: the old file is removed only after the new one and
``last_checkpoint`` are written; the temporary file of the interrupted save
is removed when the next run starts, and the run resumes."""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
from mmengine.evaluator import BaseMetric
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from jclreid.engine.hooks import SafeCheckpointHook
from jclreid.registry import HOOKS, METRICS
from jclreid.utils import fileio, load_checkpoint_file
from jclreid.utils.fileio import remove_stale_temp_files, temp_path
from _toy_runner import toy_loader, toy_runner  # tests/_toy_runner.py

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(TESTS)


@METRICS.register_module(force=True)
class _EpochMetric(BaseMetric):
    """Grows with every validation, so every epoch is a new best."""
    calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        type(self).calls += 1
        return dict(acc=float(type(self).calls))


def _runner(work_dir,
            max_epochs=3,
            max_keep_ckpts=1,
            hook='CheckpointHook',
            checkpoint=None,
            **kwargs):
    return toy_runner(
        work_dir,
        max_epochs=max_epochs,
        checkpoint=dict(
            type=hook, max_keep_ckpts=max_keep_ckpts, **(checkpoint or {})),
        **kwargs)


class _Killed(BaseException):
    """Stands in for SIGKILL in the middle of a write."""


def _kill_while_writing(monkeypatch, name):
    """Writes of ``name`` leave half a temporary file, then 'die'."""
    original = fileio.AtomicLocalBackend.put

    def put(self, obj, filepath):
        if osp.basename(str(filepath)) != name:
            return original(self, obj, filepath)
        with open(temp_path(filepath), 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise _Killed

    monkeypatch.setattr(fileio.AtomicLocalBackend, 'put', put)


def _last(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def test_jclreid_scope_gets_the_safe_hook():
    assert HOOKS.get('CheckpointHook') is SafeCheckpointHook
    assert HOOKS.get('SafeCheckpointHook') is SafeCheckpointHook


@pytest.mark.parametrize('max_keep', [1, 2])
def test_kill_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch,
                                                    max_keep):
    work = str(tmp_path / 'work')
    _kill_while_writing(monkeypatch, 'epoch_3.pth')
    with pytest.raises(_Killed):
        _runner(work, max_keep_ckpts=max_keep).train()
    monkeypatch.undo()
    last = _last(work)
    assert osp.basename(last) == 'epoch_2.pth' and osp.isfile(last)
    ckpt = load_checkpoint_file(last)  # complete and loadable
    assert ckpt['meta']['epoch'] == 2
    leftover = osp.join(work, f'.epoch_3.pth.tmp{os.getpid()}')
    assert osp.isfile(leftover)
    expected = {'epoch_2.pth'} | ({'epoch_1.pth'} if max_keep == 2 else set())
    assert {n for n in os.listdir(work) if n.endswith('.pth')} == expected

    # The next run removes the leftover, resumes from epoch 2 and ends with
    # max_keep checkpoints.
    resumed = _runner(work, max_keep_ckpts=max_keep, resume=True)
    resumed.train()
    assert resumed.epoch == 3 and not osp.exists(leftover)
    expected = {'epoch_3.pth'} | ({'epoch_2.pth'} if max_keep == 2 else set())
    assert {n for n in os.listdir(work) if n.endswith('.pth')} == expected
    assert osp.basename(_last(work)) == 'epoch_3.pth'
    assert not [n for n in os.listdir(work) if '.tmp' in n]


def test_mmengine_hook_loses_the_checkpoint(tmp_path, monkeypatch):
    """The failure the safe hook prevents (mmengine removes first)."""
    work = str(tmp_path / 'work')
    _kill_while_writing(monkeypatch, 'epoch_3.pth')
    with pytest.raises(_Killed):
        _runner(work, hook=MMEngineCheckpointHook).train()
    assert not [n for n in os.listdir(work) if n.endswith('.pth')]
    assert not osp.isfile(_last(work))


def test_kill_during_best_save_keeps_previous_best(tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    _EpochMetric.calls = 0
    val = dict(
        val_dataloader=toy_loader(),
        val_evaluator=dict(type='_EpochMetric'),
        val_cfg=dict())
    _kill_while_writing(monkeypatch, 'best_acc_epoch_2.pth')
    with pytest.raises(_Killed):
        _runner(work, checkpoint=dict(save_best='acc'), **val).train()
    assert osp.isfile(osp.join(work, 'best_acc_epoch_1.pth'))
    assert osp.basename(_last(work)) == 'epoch_2.pth'


def test_subprocess_killed_while_writing(tmp_path):
    """A real SIGKILL in the middle of writing epoch_2.pth; the next run
    (another PID) removes the leftover and resumes from epoch 1."""
    work = str(tmp_path / 'work')
    script = tmp_path / 'killed.py'
    script.write_text(
        textwrap.dedent(f'''
        import os, os.path as osp, signal, sys
        sys.path[:0] = [{osp.dirname(__file__)!r}, {TESTS!r}]
        from jclreid.utils import fileio, register_all_modules
        register_all_modules()
        import test_checkpoint_keep as t
        original = fileio.AtomicLocalBackend.put

        def put(self, obj, filepath):
            if osp.basename(str(filepath)) == 'epoch_2.pth':
                with open(fileio.temp_path(filepath), 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                    f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, obj, filepath)

        fileio.AtomicLocalBackend.put = put
        t._runner({work!r}, max_epochs=2).train()
        '''))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, str(script)],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    leftovers = [n for n in os.listdir(work) if n.startswith('.epoch_2.pth')]
    assert len(leftovers) == 1
    last = _last(work)
    assert osp.basename(last) == 'epoch_1.pth'
    assert load_checkpoint_file(last)['meta']['epoch'] == 1

    resumed = _runner(work, max_epochs=2, resume=True)
    resumed.train()
    assert resumed.epoch == 2
    assert sorted(n for n in os.listdir(work) if 'pth' in n) == ['epoch_2.pth']
    assert osp.basename(_last(work)) == 'epoch_2.pth'


def test_dangling_last_checkpoint_is_repaired(tmp_path):
    """A work dir left by mmengine's own hook: last_checkpoint names a
    deleted file; --resume takes the newest complete checkpoint."""
    work = str(tmp_path / 'work')
    _runner(work, max_epochs=2, max_keep_ckpts=-1).train()
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_3.pth'))
    resumed = _runner(work, max_epochs=3, resume=True)
    resumed.train()
    assert resumed.epoch == 3
    assert osp.basename(_last(work)) == 'epoch_3.pth'


def test_remove_stale_temp_files(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    names = {
        f'.epoch_1.pth.tmp{dead.pid}': False,  # writer gone
        f'.epoch_2.pth.tmp{os.getpid()}': False,  # our PID: a restart
        f'.epoch_3.pth.tmp{os.getppid()}': True,  # a live writer
        'epoch_4.pth.tmp1': True,  # not our pattern
        '.epoch_5.pth.tmpx': True,
        'epoch_6.pth': True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / f'.epoch_7.pth.tmp{dead.pid}').write_bytes(b'x')
    removed = remove_stale_temp_files(tmp_path)
    assert sorted(osp.basename(p)
                  for p in removed) == sorted(n for n, keep in names.items()
                                              if not keep)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [n for n, keep in names.items() if keep] + ['sub'])
    assert remove_stale_temp_files(tmp_path / 'missing') == []
