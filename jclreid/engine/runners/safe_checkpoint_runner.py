# Copyright (c) jclreid contributors. All rights reserved.
"""The mmengine ``Runner`` used by ``tools/train.py`` and ``tools/test.py``:
checkpoints load safely and strictly, and are written atomically."""
from typing import Any, Callable, Optional, Union

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from jclreid.registry import RUNNERS
from jclreid.utils.checkpoint import (UnsafeCheckpointError,
                                      load_checkpoint_file,
                                      register_checkpoint_loader,
                                      trust_checkpoints)
from jclreid.utils.fileio import register_atomic_local_backend
from jclreid.utils.model_state import load_model_state


def _bool_field(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise TypeError(f'config field {name} must be True or False, got '
                        f'{value!r}')
    return value


@RUNNERS.register_module()
class SafeCheckpointRunner(Runner):
    """mmengine ``Runner`` whose checkpoints load safely and strictly and
    are written atomically.

    On construction it registers the safe loaders as mmengine's checkpoint
    schemes (:func:`~jclreid.utils.register_checkpoint_loader`) and the
    atomic local file backend
    (:func:`~jclreid.utils.fileio.register_atomic_local_backend`); both are
    idempotent. It loads ``load_from`` / ``resume`` checkpoints with
    :func:`~jclreid.utils.load_model_state` (strict unless
    ``load_strict=False``) and loads them, and the ``init_cfg`` weights of
    every module, with full unpickling only when ``trust_checkpoint=True``.
    Mismatches and refusals are written to the run's log file. A config
    selects it with ``runner_type='SafeCheckpointRunner'``.

    Args:
        *args: Passed to :class:`mmengine.runner.Runner`.
        trust_checkpoint (bool, optional): Allow full unpickling of
            checkpoints (each such load logs a warning). None reads the
            config field ``trust_checkpoint`` (default False).
        load_strict (bool, optional): Refuse checkpoints whose keys or
            shapes differ from the model's. None reads the config field
            ``load_strict`` (default True).
        **kwargs: Passed to :class:`mmengine.runner.Runner`.
    """

    def __init__(self,
                 *args,
                 trust_checkpoint: Optional[bool] = None,
                 load_strict: Optional[bool] = None,
                 **kwargs) -> None:
        register_checkpoint_loader()
        register_atomic_local_backend()
        super().__init__(*args, **kwargs)
        self.trust_checkpoint = _bool_field(
            self.cfg.get('trust_checkpoint') if trust_checkpoint is None else
            trust_checkpoint, 'trust_checkpoint', False)
        self.load_strict = _bool_field(
            self.cfg.get('load_strict')
            if load_strict is None else load_strict, 'load_strict', True)

    def _init_model_weights(self) -> None:
        with trust_checkpoints(self.trust_checkpoint):
            super()._init_model_weights()

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: Optional[bool] = None,
                        revise_keys: list = [(r'^module.', '')]):
        """Load a checkpoint into the model (also used by ``resume``).

        Args:
            filename (str): Local path or URL.
            map_location (str or callable): Passed to :func:`torch.load`.
                Defaults to ``'cpu'``.
            strict (bool, optional): Refuse mismatched keys or shapes. None
                uses ``self.load_strict``. Defaults to None.
            revise_keys (list): ``(pattern, replacement)`` pairs applied to
                the checkpoint's keys. Defaults to stripping ``module.``.

        Returns:
            dict: The checkpoint.

        Raises:
            UnsafeCheckpointError: The file could run code and is not
                trusted.
            CheckpointMismatchError: Strict and the state dict differs.
        """
        strict = self.load_strict if strict is None else strict
        self.logger.info(f'Loading checkpoint {filename} (load_strict='
                         f'{strict}, trust_checkpoint='
                         f'{self.trust_checkpoint})')
        try:
            checkpoint = load_checkpoint_file(
                filename,
                map_location=map_location,
                trust=self.trust_checkpoint)
        except UnsafeCheckpointError as err:
            self.logger.error(str(err))
            raise
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        checkpoint = load_model_state(
            model,
            checkpoint,
            filename,
            strict=strict,
            revise_keys=revise_keys,
            logger=self.logger)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
