# Copyright (c) jclreid contributors. All rights reserved.
"""Stop (or skip the step) when the loss or the weights stop being
finite."""
from typing import Dict

import numpy as np
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper

from jclreid.registry import HOOKS
from jclreid.utils.dist import unwrap_model

ADVICE = ('lower the learning rate (optim_wrapper.optimizer.lr), add '
          'gradient clipping (optim_wrapper.clip_grad=dict(max_norm=...)) or '
          'resume from an earlier checkpoint')


def _fmt(value: torch.Tensor) -> str:
    value = value.detach().float()
    if value.numel() == 1:
        return f'{value.item():.4g}'
    bad = int((~torch.isfinite(value)).sum())
    return f'{bad} of {value.numel()} values non-finite'


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Catch a diverging run at the first non-finite loss, and never save
    non-finite weights.

    Without this hook a run whose loss became NaN trains on, saves
    checkpoints full of NaN, points ``last_checkpoint`` at them and fails
    later far from the cause (during warm-up it does not fail at all).

    * Every training iteration, after the forward pass and before the
      backward pass and the optimizer step, the loss terms (the entries of
      the model's loss dict whose name holds ``loss``, and their sum) are
      checked. ``action='raise'`` (the default) stops the run with a
      ``FloatingPointError`` naming the epoch, the iteration (as the log
      writes them, ``Epoch(train) [e][i/n]``) and every loss term with its
      value. ``action='skip'`` skips that optimizer step instead (the
      gradients are computed only where distributed training needs every
      rank to take part, then dropped; accumulated gradients of a
      ``accumulative_counts > 1`` window are dropped too), logs a warning,
      and raises after ``max_consecutive_skips`` skipped steps in a row. In
      distributed runs the ranks agree (one all-reduce per iteration): all
      raise or skip together.
    * Before every checkpoint is written, the model's floating-point
      parameters and buffers are checked; non-finite ones stop the run
      with an error naming them and the epoch, so the file is not written
      and ``last_checkpoint`` keeps naming the previous checkpoint.

    Skipping only helps a transient overflow of the loss: JCL updates its
    memories during the forward pass, so a batch whose *features* are not
    finite has already written them into the memories, and the following
    losses are not finite either (the skips then run out and the run
    stops). The refresh of the pseudo labels checks the features itself
    (``PseudoLabelHook``).

    Args:
        action (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        max_consecutive_skips (int): With ``action='skip'``, raise once this
            many steps in a row were skipped. Defaults to 10.
        check_weights (bool): Check the parameters and buffers before every
            checkpoint is written. Defaults to True.

    Raises:
        FloatingPointError: At a non-finite loss (``action='raise'``), after
            too many consecutive skips, or before saving non-finite
            weights.
    """

    priority = 'NORMAL'

    def __init__(self,
                 action: str = 'raise',
                 max_consecutive_skips: int = 10,
                 check_weights: bool = True) -> None:
        if action not in ('raise', 'skip'):
            raise ValueError("NonFiniteCheckHook.action must be 'raise' or "
                             f"'skip', got {action!r}")
        is_int = isinstance(max_consecutive_skips, (int, np.integer))
        if isinstance(max_consecutive_skips, bool) or not is_int or (
                max_consecutive_skips < 1):
            raise ValueError('NonFiniteCheckHook.max_consecutive_skips must '
                             f'be an int >= 1, got {max_consecutive_skips!r}')
        if not isinstance(check_weights, bool):
            raise TypeError('NonFiniteCheckHook.check_weights must be True '
                            f'or False, got {check_weights!r}')
        self.action = action
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.check_weights = check_weights
        self.num_skipped = 0
        self._consecutive = 0
        self._skip_pending = False
        self._batch_idx = 0
        self._patched: Dict[str, tuple] = {}

    # ------------------------------------------------------------ set-up
    def before_train(self, runner) -> None:
        """Wrap the model's ``parse_losses`` (the check) and, for
        ``action='skip'``, the optimizer wrapper's ``update_params``."""
        model = unwrap_model(runner.model)
        original_parse = model.parse_losses

        def parse_losses(losses):
            loss, log_vars = original_parse(losses)
            self.check_loss(runner, loss, log_vars)
            return loss, log_vars

        model.parse_losses = parse_losses
        self._patched['parse_losses'] = (model, original_parse)
        if self.action != 'skip':
            return
        optim_wrapper = runner.optim_wrapper
        if not isinstance(optim_wrapper, OptimWrapper):
            raise TypeError(
                "NonFiniteCheckHook(action='skip') needs one OptimWrapper "
                f'(optim_wrapper), got {type(optim_wrapper).__name__}; use '
                "action='raise'")
        original_update = optim_wrapper.update_params

        def update_params(loss, *args, **kwargs):
            if not self._skip_pending:
                return original_update(loss, *args, **kwargs)
            self._skip_pending = False
            if get_world_size() > 1 and loss.requires_grad:
                # DDP all-reduces gradients in backward: every rank joins.
                optim_wrapper.backward(loss)
            optim_wrapper.zero_grad()

        optim_wrapper.update_params = update_params
        self._patched['update_params'] = (optim_wrapper, original_update)

    def after_train(self, runner) -> None:
        """Remove the wrappers."""
        for name, (obj, _) in self._patched.items():
            if name in vars(obj):
                delattr(obj, name)
        self._patched = {}

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._batch_idx = batch_idx

    # ------------------------------------------------------------ checks
    def _where(self, runner) -> str:
        try:
            per_epoch = len(runner.train_dataloader)
        except TypeError:
            per_epoch = '?'
        return (f'epoch {runner.epoch + 1}, iteration {self._batch_idx + 1}'
                f'/{per_epoch} (`Epoch(train) [{runner.epoch + 1}]'
                f'[{self._batch_idx + 1}/{per_epoch}]` in the log; global '
                f'iteration {runner.iter + 1})')

    def check_loss(self, runner, loss: torch.Tensor,
                   log_vars: Dict[str, torch.Tensor]) -> None:
        """Raise, or mark the step to be skipped, when a loss term is not
        finite.

        Args:
            runner (Runner): For the epoch and iteration.
            loss (Tensor): The summed loss the optimizer would step on.
            log_vars (dict): ``parse_losses``' per-term values (``loss``
                first).

        Raises:
            FloatingPointError: A term is not finite and ``action='raise'``
                (or the skips ran out).
        """
        # The terms first, then their sum (``loss``).
        terms = {
            k: v
            for k, v in log_vars.items()
            if k != 'loss' and 'loss' in k and isinstance(v, torch.Tensor)
        }
        terms['loss'] = loss
        finite = torch.stack(
            [torch.isfinite(v.detach()).all() for v in terms.values()]).all()
        bad = (~finite).to(torch.int32)
        if get_world_size() > 1:
            all_reduce(bad, op='max')
        if not bool(bad):
            self._consecutive = 0
            return
        values = ', '.join(f'{k}={_fmt(v)}' for k, v in terms.items())
        culprits = [
            k for k, v in terms.items()
            if not torch.isfinite(v.detach()).all()
        ]
        if not culprits:
            culprits_text = 'finite on this rank, not on another rank'
        else:
            culprits_text = 'non-finite: ' + ', '.join(culprits)
        where = self._where(runner)
        if self.action == 'raise':
            raise FloatingPointError(
                f'NonFiniteCheckHook: the loss is not finite at {where} '
                f'({culprits_text}; {values}). The training diverged: '
                f"{ADVICE}; or set NonFiniteCheckHook action='skip' "
                '(default_hooks.non_finite.action) to skip such steps')
        self._consecutive += 1
        self.num_skipped += 1
        if self._consecutive > self.max_consecutive_skips:
            raise FloatingPointError(
                f'NonFiniteCheckHook: the loss was not finite in '
                f'{self._consecutive} iterations in a row, up to {where} '
                f'({culprits_text}; {values}); more than '
                f'max_consecutive_skips={self.max_consecutive_skips}. The '
                f'training diverged: {ADVICE}')
        self._skip_pending = True
        runner.logger.warning(
            f'NonFiniteCheckHook: skipped the optimizer step at {where} '
            f'({culprits_text}; {values}); {self.num_skipped} skipped so '
            'far')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write a checkpoint whose weights are not finite."""
        if not self.check_weights:
            return
        state = checkpoint.get('state_dict') or {}
        bad = [
            k for k, v in state.items() if isinstance(v, torch.Tensor)
            and v.is_floating_point() and not torch.isfinite(v).all()
        ]
        if not bad:
            return
        meta = checkpoint.get('meta') or {}
        shown = ', '.join(bad[:5]) + (', ...' if len(bad) > 5 else '')
        raise FloatingPointError(
            f'NonFiniteCheckHook: refusing to save the checkpoint of epoch '
            f'{meta.get("epoch", "?")} (iteration {meta.get("iter", "?")}): '
            f'{len(bad)} of {len(state)} tensors of its state_dict hold NaN '
            f'or inf ({shown}); the previous checkpoint stays '
            f'`last_checkpoint`. The training diverged: {ADVICE}')
