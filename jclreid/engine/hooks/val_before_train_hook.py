# Copyright (c) jclreid contributors. All rights reserved.
from mmengine.hooks import Hook

from jclreid.registry import HOOKS


@HOOKS.register_module()
class ValBeforeTrainHook(Hook):
    """Run the validation loop once before the first training epoch, so the
    log shows what the untrained model scores (skipped when resuming).

    Runs after the model weights are initialised (``init_cfg``), with the
    same ``val_dataloader`` and ``val_evaluator`` as later validations.
    """

    priority = 'LOW'

    def before_train(self, runner) -> None:
        if runner.epoch != 0 or runner.iter != 0:
            return
        if getattr(runner, '_val_loop', None) is None:
            return
        runner.logger.info('Validation before training:')
        runner.val_loop.run()
