# Copyright (c) jclreid contributors. All rights reserved.
"""Safe checkpoint loading for mmengine 0.10 with recent PyTorch.

Nothing loaded from a file may run code. mmengine 0.10.7 calls
``torch.load`` without ``weights_only``, and a checkpoint written by its
``CheckpointHook`` holds more than tensors, so under ``torch>=2.6``
``resume`` and ``load_from`` fail with ``Unsupported global``. This module:

* loads every checkpoint with ``weights_only=True``, allowing exactly the
  types a run checkpoint holds
  (:func:`~jclreid.utils.safe_globals.checkpoint_safe_globals`);
* refuses anything else with :class:`UnsafeCheckpointError`, which names the
  file, torch's reason and the trust switch; a full unpickle happens only
  inside :func:`trust_checkpoints` (``--trust-checkpoint`` on the tools,
  config field ``trust_checkpoint = True``) and logs a warning naming the
  file;
* provides these loaders for local paths, ``http(s)://``,
  ``torchvision://``, ``open-mmlab://``, ``mmcls://`` and ``s3://`` /
  ``petrel://`` (:func:`load_checkpoint_file`), and registers them as
  mmengine's ``CheckpointLoader`` schemes on request
  (:func:`register_checkpoint_loader`, called by
  :func:`~jclreid.utils.register_all_modules` and
  :class:`~jclreid.engine.SafeCheckpointRunner`; importing jclreid changes
  nothing in mmengine), so that ``load_from``, ``resume`` and every
  ``init_cfg=dict(type='Pretrained', checkpoint=...)`` take the same path.
"""
import contextlib
import contextvars
import io
import logging
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log

from .safe_globals import checkpoint_safe_globals

__all__ = [
    'UnsafeCheckpointError', 'trust_checkpoints', 'load_checkpoint_file',
    'load_state_dict_file', 'register_checkpoint_loader'
]

TRUST_HINT = ('pass --trust-checkpoint to tools/train.py or tools/test.py '
              '(config field `trust_checkpoint = True`; in Python: '
              '`with jclreid.utils.trust_checkpoints(): ...`), only for a '
              'file whose origin you trust')

_TRUST: contextvars.ContextVar = contextvars.ContextVar(
    'jclreid_trust_checkpoint', default=False)
_REGISTERED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects whose unpickling could run code."""


@contextlib.contextmanager
def trust_checkpoints(trust: bool = True) -> Iterator[None]:
    """Allow (or forbid) full unpickling of checkpoints inside the block.

    Full unpickling can run arbitrary code: use it only for files whose
    origin you trust. Each such load logs a warning naming the file.

    Args:
        trust (bool): Whether checkpoints loaded in the block may be fully
            unpickled. Defaults to True.

    Example:
        >>> with trust_checkpoints():
        ...     runner.train()  # load_from / resume may hold any object
    """
    if not isinstance(trust, bool):
        raise TypeError('trust_checkpoint must be True or False, got '
                        f'{trust!r}')
    token = _TRUST.set(trust)
    try:
        yield
    finally:
        _TRUST.reset(token)


def _weights_only_reason(err: BaseException) -> str:
    """The short reason in torch's weights_only error message."""
    msg = str(err)
    match = re.search(
        r'WeightsUnpickler error:(.*?)(\n\s*\nCheck the documentation|$)', msg,
        re.S)
    reason = match.group(1) if match else msg
    return ' '.join(reason.split('. Please use')[0].split())


def _torch_load(source: Any, name: str, map_location: Any,
                trust: Optional[bool]) -> Any:
    """``torch.load`` with ``weights_only=True`` unless trusted.

    Args:
        source (str | file-like): What to read.
        name (str): How errors and warnings name the checkpoint.
        map_location: Passed to :func:`torch.load`.
        trust (bool, optional): Full unpickling allowed; None uses the
            current :func:`trust_checkpoints` setting.

    Raises:
        UnsafeCheckpointError: The file holds objects that
            ``weights_only=True`` refuses and it is not trusted.
        RuntimeError: The file is not a readable torch checkpoint.
    """
    if trust is None:
        trust = _TRUST.get()
    try:
        if trust:
            print_log(
                f'Loading checkpoint {name!r} with full unpickling '
                '(trust_checkpoint=True): a crafted file can run arbitrary '
                'code this way; use it only for files you trust.',
                logger='current',
                level=logging.WARNING)
            return torch.load(
                source, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(
                source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if trust or isinstance(err, UnsafeCheckpointError):
            raise
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {name!r}: it holds objects that '
            'torch.load(weights_only=True) does not allow '
            f'({_weights_only_reason(err)}), and unpickling them could run '
            f'arbitrary code. If you trust the file, {TRUST_HINT}.') from err
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as err:  # noqa: BLE001 - torch raises many types
        raise RuntimeError(
            f'Cannot read checkpoint {name!r}: expected a file written by '
            f'torch.save ({type(err).__name__}: {err})') from err


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """Load a local checkpoint safely (see :func:`_torch_load`).

    Registered as mmengine's loader for local paths.

    Args:
        filename (str): Path of the checkpoint.
        map_location: Passed to :func:`torch.load`. Defaults to None.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: See :func:`_torch_load`.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint file {filename!r} does not exist; expected a .pth '
            'file written by torch.save')
    return _torch_load(filename, filename, map_location, None)


def _download(url: str, model_dir: Optional[str], progress: bool) -> str:
    """Download ``url`` into torch's hub cache (once); return the path."""
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        torch.hub.download_url_to_file(url, cached, None, progress=progress)
    return cached


def load_from_http(filename: str,
                   map_location: Any = None,
                   model_dir: Optional[str] = None,
                   progress: bool = os.isatty(0)) -> Any:
    """Download a checkpoint (rank 0 first) and load it safely.

    Args:
        filename (str): ``http://`` or ``https://`` URL.
        map_location: Passed to :func:`torch.load`. Defaults to None.
        model_dir (str, optional): Download folder. Defaults to torch hub's
            ``checkpoints`` folder.
        progress (bool): Show a progress bar. Defaults to whether stdin is a
            terminal.

    Returns:
        Any: The loaded object.
    """
    rank, world_size = get_dist_info()
    if rank == 0:
        cached = _download(filename, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            cached = _download(filename, model_dir, progress)
    return _torch_load(cached, f'{filename} (cached at {cached})',
                       map_location, None)


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """Load ``torchvision://NAME`` (or ``modelzoo://NAME``) weights safely.

    Args:
        filename (str): ``torchvision://resnet50`` etc.
        map_location: Passed to :func:`torch.load`. Defaults to None.

    Raises:
        KeyError: The name is not a torchvision model.
    """
    from mmengine.runner.checkpoint import get_torchvision_models
    model_name = filename.split('://', 1)[1]
    model_urls = get_torchvision_models()
    if model_name not in model_urls:
        raise KeyError(f'{filename!r}: {model_name!r} is not a torchvision '
                       'model with pretrained weights')
    return load_from_http(model_urls[model_name], map_location=map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """Load ``open-mmlab://NAME`` weights safely (as mmengine resolves
    them).

    Args:
        filename (str): ``open-mmlab://NAME`` or ``openmmlab://NAME``.
        map_location: Passed to :func:`torch.load`. Defaults to None.
    """
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            get_deprecated_model_names,
                                            get_external_models)
    model_name = filename.split('://', 1)[1]
    model_name = get_deprecated_model_names().get(model_name, model_name)
    model_url = get_external_models()[model_name]
    if model_url.startswith(('http://', 'https://')):
        return load_from_http(model_url, map_location=map_location)
    return load_from_local(
        osp.join(_get_mmengine_home(), model_url), map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """Load ``mmcls://NAME`` weights safely (as mmengine resolves them).

    Args:
        filename (str): ``mmcls://NAME``.
        map_location: Passed to :func:`torch.load`. Defaults to None.
    """
    from mmengine.runner.checkpoint import (_process_mmcls_checkpoint,
                                            get_mmcls_models)
    url = get_mmcls_models()[filename[len('mmcls://'):]]
    return _process_mmcls_checkpoint(
        load_from_http(url, map_location=map_location))


def load_from_ceph(filename: str,
                   map_location: Any = None,
                   backend: str = 'petrel') -> Any:
    """Load an ``s3://`` / ``petrel://`` checkpoint safely.

    Args:
        filename (str): The remote path.
        map_location: Passed to :func:`torch.load`. Defaults to None.
        backend (str): mmengine file backend. Defaults to ``'petrel'``.
    """
    from mmengine.fileio import get_file_backend
    file_backend = get_file_backend(
        filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return _torch_load(buffer, filename, map_location, None)


_SCHEMES: Dict[Union[str, Tuple[str, ...]], Callable] = {
    '': load_from_local,
    ('http://', 'https://'): load_from_http,
    ('torchvision://', 'modelzoo://'): load_from_torchvision,
    ('open-mmlab://', 'openmmlab://'): load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_from_ceph,
}


def _loader_for(filename: str) -> Callable:
    table = {}
    for prefixes, loader in _SCHEMES.items():
        for prefix in (prefixes, ) if isinstance(prefixes, str) else prefixes:
            table[prefix] = loader
    for prefix in sorted(table, reverse=True):  # longer prefixes first
        if re.match(prefix, filename) is not None:
            return table[prefix]
    return load_from_local


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         trust: Optional[bool] = None) -> Any:
    """Load a checkpoint from a local path or URL, safely.

    Independent of :func:`register_checkpoint_loader`: the local path,
    ``http(s)://``, ``torchvision://``, ``open-mmlab://``, ``mmcls://`` and
    ``s3://`` schemes all load with ``weights_only=True`` and the allow-list
    of :func:`checkpoint_safe_globals`.

    Args:
        filename (str): Local path or URL.
        map_location: Passed to :func:`torch.load`. Defaults to None.
        trust (bool, optional): Allow full unpickling (logs a warning).
            None uses the current :func:`trust_checkpoints` setting
            (False unless inside the block). Defaults to None.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        UnsafeCheckpointError: The file holds objects that could run code
            and is not trusted; the message names the file, torch's reason
            and the trust switch.
        FileNotFoundError: A local file does not exist.
    """
    loader = _loader_for(filename)
    if trust is None:
        return loader(filename, map_location)
    with trust_checkpoints(trust):
        return loader(filename, map_location)


def register_checkpoint_loader() -> None:
    """Register the safe loaders as mmengine ``CheckpointLoader`` schemes.

    Afterwards mmengine's ``load_from``, ``resume``, ``load_checkpoint`` and
    ``PretrainedInit`` (``init_cfg=dict(type='Pretrained', ...)``) load
    local files and URLs with ``weights_only=True``. Idempotent.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefixes, loader in _SCHEMES.items():
        CheckpointLoader.register_scheme(
            prefixes=prefixes, loader=loader, force=True)
    _REGISTERED = True


def load_state_dict_file(filename: str,
                         map_location: Optional[str] = 'cpu') -> dict:
    """Load a pretrained state dict from a local file or URL, safely.

    Args:
        filename (str): Path or URL of a ``.pth`` file holding a state dict
            (or a dict with a ``state_dict`` / ``model`` entry).
        map_location (str, optional): Passed to :func:`torch.load`.
            Defaults to ``'cpu'``.

    Returns:
        dict: The state dict.

    Raises:
        FileNotFoundError: A local file does not exist.
        UnsafeCheckpointError: See :func:`load_checkpoint_file`.
        TypeError: The file holds no dict.
    """
    if '://' not in filename and not osp.isfile(osp.expanduser(filename)):
        raise FileNotFoundError(
            f'pretrained weights {filename!r} do not exist; expected a local '
            '.pth file holding a state dict')
    ckpt = load_checkpoint_file(filename, map_location=map_location)
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and key in ckpt and isinstance(
                ckpt[key], dict):
            ckpt = ckpt[key]
    if not isinstance(ckpt, dict):
        raise TypeError(f'pretrained weights {filename!r} hold a '
                        f'{type(ckpt).__name__}; expected a state dict')
    return ckpt
