# Copyright (c) jclreid contributors. All rights reserved.
"""A diverging run stops at the first non-finite loss with an error naming
the iteration and the loss term (or skips the step when asked), never saves
non-finite weights as ``last_checkpoint``, and the pseudo-label refresh
(warm-up included) refuses non-finite features naming the epoch."""
import os
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook

from jclreid.engine import SafeCheckpointRunner
from jclreid.engine.hooks import NonFiniteCheckHook
from jclreid.registry import HOOKS

from _load_module import load_module
from _toy_runner import ToyModel, toy_loader, toy_runner  # tests/ helper

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Toy(ToyModel):
    """Two loss terms; ``loss_b`` is NaN at the global iterations in
    ``nan_at`` (counted by the model's own forward calls)."""

    def __init__(self, nan_at=()):
        super().__init__()
        self.nan_at = set(nan_at)
        self.calls = 0

    def loss(self, out, labels):
        loss_b = (out - labels).abs().mean()
        if self.calls in self.nan_at:
            loss_b = loss_b * float('nan')
        self.calls += 1
        return dict(loss_a=((out - labels)**2).mean(), loss_b=loss_b)


def _runner(work_dir, model, max_epochs=2, hooks=(), **check):
    return toy_runner(
        work_dir,
        model=model,
        max_epochs=max_epochs,
        lr=0.01,
        train_dataloader=toy_loader(label_scale=0.1),
        default_hooks=dict(
            non_finite=dict(type='NonFiniteCheckHook', **check)),
        custom_hooks=list(hooks))


def _last(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        return osp.basename(f.read().strip())


def test_raise_names_iteration_and_term(tmp_path):
    work = str(tmp_path / 'w')
    # 2 iterations per epoch; NaN at global iteration 3 (epoch 2, iter 2).
    runner = _runner(work, _Toy(nan_at={3}))
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    msg = str(info.value)
    assert 'epoch 2, iteration 2/2' in msg and 'global iteration 4' in msg
    assert 'non-finite: loss_b, loss' in msg and 'loss_b=nan' in msg, msg
    assert 'loss_a=' in msg and 'optim_wrapper.optimizer.lr' in msg
    # The epoch-2 checkpoint was never written.
    assert sorted(n for n in os.listdir(work)
                  if n.endswith('.pth')) == ['epoch_1.pth']
    assert _last(work) == 'epoch_1.pth'


def test_skip_leaves_the_weights_untouched(tmp_path):
    seen = []

    class _Watch(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            seen.append(runner.model.linear.weight.detach().clone())

    runner = _runner(
        tmp_path / 'w', _Toy(nan_at={1}), hooks=[_Watch()], action='skip')
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteCheckHook))
    assert hook.num_skipped == 1
    assert torch.equal(seen[0], seen[1])  # iteration 2 was skipped
    assert not torch.equal(seen[1], seen[2])  # iteration 3 was not
    assert torch.isfinite(runner.model.linear.weight).all()
    assert 'parse_losses' not in vars(runner.model)  # unwrapped after train


def test_skip_gives_up_after_consecutive_skips(tmp_path):
    runner = _runner(
        tmp_path / 'w',
        _Toy(nan_at={1, 2, 3}),
        max_epochs=3,
        action='skip',
        max_consecutive_skips=2)
    with pytest.raises(FloatingPointError, match='3 iterations in a row'):
        runner.train()


def test_nonfinite_weights_are_never_saved(tmp_path):
    """The loss stays finite, but the weights turn NaN during epoch 2:
    that epoch's checkpoint is refused; last_checkpoint stays epoch 1."""

    class _Poison(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            if runner.iter == 3:
                with torch.no_grad():
                    runner.model.linear.bias.fill_(float('inf'))

    work = str(tmp_path / 'w')
    runner = _runner(work, _Toy(), hooks=[_Poison()])
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    msg = str(info.value)
    assert 'checkpoint of epoch 2' in msg and 'linear.bias' in msg, msg
    assert _last(work) == 'epoch_1.pth'
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
    assert not [n for n in os.listdir(work) if '.tmp' in n]


def test_bad_arguments():
    with pytest.raises(ValueError, match="'raise' or 'skip'"):
        NonFiniteCheckHook(action='ignore')
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        NonFiniteCheckHook(max_consecutive_skips=0)


def _tiny_cfg():
    return load_module('tests/test_engine/test_pseudo_label_hook.py').tiny_cfg


@HOOKS.register_module(force=True)
class _NaNWeightsForTest(Hook):
    """Sets one backbone weight to NaN before iteration ``at`` (global) or
    before epoch ``at_epoch``."""
    priority = 'HIGHEST'

    def __init__(self, at=None, at_epoch=None):
        self.at, self.at_epoch = at, at_epoch

    def _poison(self, runner):
        with torch.no_grad():
            runner.model.backbone.conv1.weight.view(-1)[0] = float('nan')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            self._poison(runner)

    def before_train_epoch(self, runner):
        if runner.epoch == self.at_epoch:
            self._poison(runner)


def test_jcl_warmup_loss_nan_stops_at_once(tmp_path):
    """A real JCL run in warm-up (instance loss only) whose weights turn
    NaN: the first non-finite loss stops it, naming the term."""
    cfg = _tiny_cfg()(
        tmp_path / 'w', tmp_path / 'data', warmup_epochs=2, max_epochs=2)
    cfg['default_hooks']['non_finite'] = dict(type='NonFiniteCheckHook')
    cfg['custom_hooks'].append(dict(type='_NaNWeightsForTest', at=1))
    runner = SafeCheckpointRunner.from_cfg(cfg)
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    msg = str(info.value)
    assert 'epoch 1, iteration 2/2' in msg, msg
    assert 'loss_instance' in msg, msg
    assert not [n for n in os.listdir(tmp_path / 'w') if n.endswith('.pth')]


@pytest.mark.parametrize('warmup', [2, 1])
def test_refresh_refuses_nonfinite_features(tmp_path, warmup):
    """The refresh before epoch 2 (a warm-up one with warmup=2, the first
    clustering with warmup=1) sees NaN weights: the error names the epoch,
    the number of non-finite rows and the parameter."""
    cfg = _tiny_cfg()(
        tmp_path / 'w', tmp_path / 'data', warmup_epochs=warmup, max_epochs=2)
    cfg['custom_hooks'].append(dict(type='_NaNWeightsForTest', at_epoch=1))
    runner = SafeCheckpointRunner.from_cfg(cfg)
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    msg = str(info.value)
    n = len(runner.train_dataloader.dataset)
    assert f'{n} of {n} train-set features are not finite' in msg, msg
    assert 'before epoch 2' in msg and 'backbone.conv1.weight' in msg, msg
    assert ('warm-up refresh' in msg) == (warmup == 2), msg
