# Copyright (c) jclreid contributors. All rights reserved.
"""Compatibility of mmengine 0.10 with recent PyTorch releases.

Since PyTorch 2.6, ``torch.load`` defaults to ``weights_only=True``, and
mmengine 0.10.7 calls it without the argument. A checkpoint written by an
mmengine ``Runner`` holds more than tensors (the message hub's
``HistoryBuffer``, numpy scalars, the config), so ``resume`` and ``load_from``
fail with ``Unsupported global``. This module re-registers mmengine's
local-file loader so that run checkpoints load again.

Checkpoints written by a run are trusted (they are the user's own files);
pretrained state dicts loaded by the backbones keep ``weights_only=True``
(see :func:`load_state_dict_file`).
"""
import os.path as osp
from typing import Optional

import torch
from mmengine.runner.checkpoint import CheckpointLoader

_PATCHED = False


def _load_run_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint written by an mmengine run.

    Tries the safe ``weights_only=True`` path first; a file that holds more
    than tensors (a full run checkpoint) is then loaded with
    ``weights_only=False``.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception:  # noqa: BLE001 - pickle errors have many types
        return torch.load(
            filename, map_location=map_location, weights_only=False)


def register_checkpoint_loader() -> None:
    """Register the local-file checkpoint loader (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_run_checkpoint, force=True)
    _PATCHED = True


def load_state_dict_file(filename: str,
                         map_location: Optional[str] = 'cpu') -> dict:
    """Load a pretrained state dict from a local file, tensors only.

    Args:
        filename (str): Path of a ``.pth`` file holding a state dict (or a
            dict with a ``state_dict`` / ``model`` entry).
        map_location (str, optional): Passed to :func:`torch.load`.
            Defaults to ``'cpu'``.

    Returns:
        dict: The state dict.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'pretrained weights {filename!r} do not exist; expected a local '
            '.pth file holding a state dict')
    ckpt = torch.load(filename, map_location=map_location, weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and key in ckpt and isinstance(
                ckpt[key], dict):
            ckpt = ckpt[key]
    return ckpt
