# Copyright (c) jclreid contributors. All rights reserved.
"""Checkpoints cannot run code, and a checkpoint of another model is refused.

A crafted checkpoint whose pickle calls ``pathlib.Path.touch`` is refused by
every entry point (the loader, a Runner's ``load_from`` and ``resume``,
``init_cfg`` Pretrained of a neck and of the backbone, ``tools/test.py``):
the marker file is not created and the error names the file and the trust
switch; with the switch the file loads (the marker appears) and a warning is
logged. Loading is strict: another architecture, unexpected keys and an
empty state dict fail naming the keys, in the run's log file too, and load
partially with ``load_strict=False`` / ``--non-strict`` while logging.
"""
import glob
import os
import os.path as osp
import pathlib
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from jclreid.engine import SafeCheckpointRunner
from jclreid.registry import MODELS, RUNNERS
from jclreid.utils import (CheckpointMismatchError, UnsafeCheckpointError,
                           load_checkpoint_file, load_model_state,
                           load_state_dict_file, register_all_modules,
                           register_checkpoint_loader, trust_checkpoints)

from _load_module import load_module
from _toy_runner import ToyModel, toy_runner  # tests/_toy_runner.py

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRUST_SWITCH = '--trust-checkpoint'


class _Evil:
    """Unpickling this touches ``marker``: a stand-in for any code."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker, ))


def test_runner_is_registered():
    """A config selects it with ``runner_type='SafeCheckpointRunner'``."""
    assert RUNNERS.get('SafeCheckpointRunner') is SafeCheckpointRunner


def _log_text(runner):
    path = osp.join(runner.log_dir, f'{runner.timestamp}.log')
    with open(path) as f:
        return f.read()


def _evil_file(tmp_path, payload):
    """Save ``payload`` plus a crafted object; return (file, marker)."""
    marker = tmp_path / 'MARKER'
    path = tmp_path / 'evil.pth'
    torch.save(dict(payload, evil=_Evil(marker)), path)
    return str(path), marker


def _assert_refused(excinfo, path, marker):
    msg = str(excinfo.value)
    assert path in msg and TRUST_SWITCH in msg, msg
    assert 'could run arbitrary code' in msg and 'pathlib' in msg, msg
    assert not marker.exists()


def test_loader_refuses_then_trusts(tmp_path):
    log_file = tmp_path / 'loader.log'
    MMLogger.get_instance(
        f'loader_{uuid.uuid4().hex[:8]}',
        log_file=str(log_file))  # the current logger
    path, marker = _evil_file(tmp_path, {'w': torch.ones(1)})
    for load in (load_checkpoint_file, load_state_dict_file):
        with pytest.raises(UnsafeCheckpointError) as excinfo:
            load(path)
        _assert_refused(excinfo, path, marker)
    with trust_checkpoints():
        ckpt = load_checkpoint_file(path)
    assert marker.exists() and torch.equal(ckpt['w'], torch.ones(1))
    log = log_file.read_text()
    assert 'WARNING' in log and 'full unpickling' in log and path in log


def test_runner_load_from_refused_and_trusted(tmp_path):
    register_checkpoint_loader()
    path, marker = _evil_file(tmp_path,
                              {'state_dict': ToyModel().state_dict()})
    # A plain mmengine Runner goes through the registered loader too.
    for cls in (Runner, SafeCheckpointRunner):
        runner = toy_runner(
            tmp_path / cls.__name__, runner_cls=cls, load_from=path)
        with pytest.raises(UnsafeCheckpointError) as excinfo:
            runner.load_or_resume()
        _assert_refused(excinfo, path, marker)
    assert 'Refused to load checkpoint' in _log_text(runner)

    runner = toy_runner(
        tmp_path / 'trusted', load_from=path, cfg=dict(trust_checkpoint=True))
    runner.load_or_resume()
    assert marker.exists()
    log = _log_text(runner)
    assert 'WARNING' in log and 'full unpickling' in log and path in log


def test_resume_real_checkpoint_then_crafted(tmp_path):
    first = toy_runner(tmp_path / 'run', max_epochs=1)
    first.train()
    real = tmp_path / 'run' / 'epoch_1.pth'
    # A real run checkpoint resumes without trust, strictly.
    resumed = toy_runner(
        tmp_path / 'run', max_epochs=2, resume=True, load_from=str(real))
    resumed.train()
    assert resumed.train_loop.epoch == 2

    ckpt = torch.load(real, weights_only=False)  # our own file
    path, marker = _evil_file(tmp_path, ckpt)
    for cls in (Runner, SafeCheckpointRunner):
        runner = toy_runner(
            tmp_path / 'evil',
            runner_cls=cls,
            max_epochs=2,
            resume=True,
            load_from=path)
        with pytest.raises(UnsafeCheckpointError) as excinfo:
            runner.train()
        _assert_refused(excinfo, path, marker)
    runner = toy_runner(
        tmp_path / 'evil',
        max_epochs=2,
        resume=True,
        load_from=path,
        trust_checkpoint=True)
    runner.train()
    assert marker.exists() and runner.train_loop.epoch == 2


@pytest.mark.parametrize('component', ['neck', 'backbone'])
def test_init_cfg_pretrained_refused_and_trusted(tmp_path, component):
    register_all_modules()
    cfg = dict(type='ReIDNeck', in_channels=8) if component == 'neck' else \
        dict(type='ReIDResNet', depth=18, wam=None)
    path, marker = _evil_file(tmp_path,
                              {'state_dict': MODELS.build(cfg).state_dict()})
    cfg['init_cfg'] = dict(type='Pretrained', checkpoint=path)
    with pytest.raises(UnsafeCheckpointError) as excinfo:
        MODELS.build(cfg).init_weights()
    _assert_refused(excinfo, path, marker)
    with trust_checkpoints():
        MODELS.build(cfg).init_weights()
    assert marker.exists()


def _strict_cases(tmp_path):
    own = ToyModel().state_dict()
    cases = {
        'arch': ({
            'state_dict': ToyModel(width=3).state_dict()
        }, [
            '1 key with a different shape',
            'linear.weight: checkpoint (1, 3), model (1, 2)'
        ]),
        'unexpected': ({
            'state_dict': dict(own, extra=torch.zeros(1))
        }, ['1 unexpected key in', 'extra']),
        'empty': ({
            'state_dict': {}
        }, ['2 keys missing', 'linear.weight', 'linear.bias']),
    }
    for name, (ckpt, expected) in cases.items():
        path = tmp_path / f'{name}.pth'
        torch.save(ckpt, path)
        yield name, str(path), expected


def test_strict_load_from_fails_naming_keys(tmp_path):
    for name, path, expected in _strict_cases(tmp_path):
        runner = toy_runner(tmp_path / name, load_from=path)
        before = runner.model.linear.weight.detach().clone()
        with pytest.raises(CheckpointMismatchError) as excinfo:
            runner.load_or_resume()
        for text in expected + [path, '--non-strict', 'load_strict']:
            assert text in str(excinfo.value), (name, str(excinfo.value))
        assert torch.equal(runner.model.linear.weight, before)
        log = _log_text(runner)
        assert 'ERROR' in log and expected[-1] in log, name

        loose = toy_runner(
            tmp_path / f'{name}_loose',
            load_from=path,
            cfg=dict(load_strict=False))
        loose.load_or_resume()
        log = _log_text(loose)
        assert 'WARNING' in log and expected[-1] in log, name
        assert 'matching keys only' in log, name


def test_resnet50_vs_resnet18_checkpoint(tmp_path):
    register_all_modules()
    r18 = MODELS.build(dict(type='ReIDResNet', depth=18))
    r50 = MODELS.build(dict(type='ReIDResNet', depth=50))
    ckpt = {'state_dict': r18.state_dict()}
    with pytest.raises(CheckpointMismatchError) as excinfo:
        load_model_state(r50, ckpt, 'r18.pth')
    msg = str(excinfo.value)
    assert 'r18.pth' in msg and 'with a different shape' in msg, msg
    assert 'missing from the checkpoint' in msg, msg  # conv3 of Bottleneck
    # non-strict loads what fits, e.g. the stem.
    load_model_state(r50, ckpt, 'r18.pth', strict=False)
    assert torch.equal(r50.conv1.weight, r18.conv1.weight)


def _data_options(data_root):
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.dataset.data_root={data_root}',
            f'{loader}.dataset.num_train_ids=4',
            f'{loader}.dataset.num_test_ids=4',
            f'{loader}.dataset.num_cameras=2',
            f'{loader}.dataset.num_distractors=0', f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False'
        ]
    return opts


def test_tools_test_refuses_crafted_checkpoint(tmp_path):
    path, marker = _evil_file(tmp_path, {'state_dict': {}})
    work = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'test.py'),
            osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'), path,
            '--work-dir',
            str(work), '--cfg-options'
        ] + _data_options(tmp_path / 'data'),
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode != 0
    assert not marker.exists()
    assert 'UnsafeCheckpointError' in proc.stderr, proc.stderr[-3000:]
    assert path in proc.stderr and TRUST_SWITCH in proc.stderr
    logs = glob.glob(str(work / '*' / '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        log = f.read()
    assert 'Refused to load checkpoint' in log and path in log


def test_tools_test_architecture_mismatch(tmp_path, monkeypatch):
    """The user's case in-process: a ResNet-50 config on a ResNet-18 run
    checkpoint stops naming the keys, in the log file; --non-strict runs."""
    test_tool = load_module('tools/test.py')
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'))
    path = str(tmp_path / 'r18.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    r50 = [
        'model.backbone.depth=50', 'model.neck.in_channels=2048',
        'model.head.feat_dim=2048'
    ]
    monkeypatch.chdir(tmp_path)

    def run(work, *extra):
        monkeypatch.setattr(sys, 'argv', [
            'test.py',
            osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'), path,
            '--work-dir',
            str(work), *extra, '--cfg-options'
        ] + r50 + _data_options(tmp_path / 'data'))
        return test_tool.main()

    with pytest.raises(CheckpointMismatchError) as excinfo:
        run(tmp_path / 'strict')
    msg = str(excinfo.value)
    assert path in msg and 'with a different shape' in msg, msg
    assert '--non-strict' in msg, msg
    logs = glob.glob(str(tmp_path / 'strict' / '*' / '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        assert 'with a different shape' in f.read()

    metrics = run(tmp_path / 'loose', '--non-strict')
    assert 'reid/mAP' in metrics
    logs = glob.glob(str(tmp_path / 'loose' / '*' / '*.log'))
    with open(logs[0]) as f:
        log = f.read()
    assert 'WARNING' in log and 'with a different shape' in log
