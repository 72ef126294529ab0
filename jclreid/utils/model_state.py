# Copyright (c) jclreid contributors. All rights reserved.
"""Strict loading of a checkpoint's state dict into a model.

Missing, unexpected and mis-shaped keys are named and refused
(:class:`CheckpointMismatchError`) unless ``load_strict = False``
(``--non-strict`` on ``tools/test.py``), which loads the matching part and
logs the mismatch as a warning.
"""
import logging
import re
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

__all__ = ['CheckpointMismatchError', 'load_model_state']

STRICT_HINT = ('check that the config and the checkpoint describe the same '
               'architecture; to load only the matching part, pass '
               '--non-strict to tools/test.py (config field '
               '`load_strict = False`)')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's state dict does not match the model (strict load)."""


def _shape(value: Any) -> Optional[tuple]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _first(keys: Sequence[str], limit: int = 5) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (', ...' if len(keys) > limit else '')


def _count(n: int, noun: str) -> str:
    return f'{n} {noun}' + ('' if n == 1 else 's')


def _mismatch_message(filename: str, model: torch.nn.Module,
                      missing: List[str], unexpected: List[str],
                      mismatched: List[Tuple[str, tuple, tuple]]) -> str:
    parts = []
    if mismatched:
        shown = '; '.join(f'{k}: checkpoint {c}, model {m}'
                          for k, c, m in mismatched[:5])
        more = '; ...' if len(mismatched) > 5 else ''
        parts.append(f'{_count(len(mismatched), "key")} with a different '
                     f'shape ({shown}{more})')
    if missing:
        parts.append(f'{_count(len(missing), "key")} missing from the '
                     f'checkpoint ({_first(missing)})')
    if unexpected:
        parts.append(f'{_count(len(unexpected), "unexpected key")} in the '
                     f'checkpoint ({_first(unexpected)})')
    return (f'checkpoint {filename!r} does not match the model '
            f'{type(model).__name__}: ' + '; '.join(parts))


def _log(msg: str, logger: Any, level: int) -> None:
    if isinstance(logger, logging.Logger):
        logger.log(level, msg)
    else:
        print_log(msg, logger=logger, level=level)


def load_model_state(model: torch.nn.Module,
                     checkpoint: Any,
                     filename: str,
                     strict: bool = True,
                     revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.',
                                                                ''), ),
                     logger: Any = 'current') -> Any:
    """Load a checkpoint's state dict into a model, strictly by default.

    Missing keys (in the model's ``state_dict`` but not the checkpoint;
    non-persistent buffers such as memories are not in it), unexpected keys
    and keys whose shapes differ are collected first. Strict: they are
    logged as an error and raised; non-strict: they are logged as a warning
    and the matching keys are loaded.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (dict): A state dict, or a dict with ``state_dict``.
        filename (str): The checkpoint's name for messages.
        strict (bool): Refuse any mismatch. Defaults to True.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` regular
            expressions applied to the checkpoint's keys. Defaults to
            stripping ``module.``.
        logger: mmengine logger or name for :func:`print_log`. Defaults to
            ``'current'``.

    Returns:
        The checkpoint.

    Raises:
        TypeError: The checkpoint holds no state dict.
        CheckpointMismatchError: ``strict`` and the keys or shapes differ.
    """
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        found = type(
            state_dict if isinstance(checkpoint, dict) else checkpoint
        ).__name__
        raise TypeError(
            f'checkpoint {filename!r} holds a {found} where a state dict was '
            'expected (a dict of tensors, or a dict with a "state_dict" '
            'entry)')
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict((re.sub(pattern, replacement, k), v)
                                 for k, v in state_dict.items())
    state_dict._metadata = metadata  # type: ignore[attr-defined]

    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [
        (k, _shape(v), _shape(own[k])) for k, v in state_dict.items()
        if k in own and _shape(v) is not None and _shape(own[k]) is not None
        and _shape(v) != _shape(own[k])
    ]
    if missing or unexpected or mismatched:
        msg = _mismatch_message(filename, model, missing, unexpected,
                                mismatched)
        if strict:
            msg = f'{msg}. Refused (strict loading): {STRICT_HINT}.'
            _log(msg, logger, logging.ERROR)
            raise CheckpointMismatchError(msg)
        _log(f'{msg}. Loaded the matching keys only (load_strict=False).',
             logger, logging.WARNING)
        for key, _, _ in mismatched:
            state_dict.pop(key)
    model.load_state_dict(state_dict, strict=False)
    return checkpoint
