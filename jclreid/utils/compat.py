# Copyright (c) jclreid contributors. All rights reserved.
"""Safe and strict checkpoint loading for mmengine 0.10 with recent PyTorch.

Nothing loaded from a file may run code. mmengine 0.10.7 calls
``torch.load`` without ``weights_only``, and a checkpoint written by its
``CheckpointHook`` holds more than tensors (the message hub's
``HistoryBuffer``, numpy arrays, scalars and dtypes), so under
``torch>=2.6`` ``resume`` and ``load_from`` fail with ``Unsupported global``.
This module:

* loads every checkpoint with ``weights_only=True``, allowing exactly the
  types a run checkpoint holds (:func:`checkpoint_safe_globals`);
* refuses anything else with :class:`UnsafeCheckpointError`, which names the
  file, torch's reason and the trust switch; a full unpickle happens only
  inside :func:`trust_checkpoints` (``--trust-checkpoint`` on the tools,
  config field ``trust_checkpoint = True``) and logs a warning naming the
  file;
* registers these loaders as mmengine's ``CheckpointLoader`` schemes for
  local paths, ``http(s)://``, ``torchvision://``, ``open-mmlab://``,
  ``mmcls://`` and ``s3://`` / ``petrel://``
  (:func:`register_checkpoint_loader`), so ``load_from``, ``resume`` and
  every ``init_cfg=dict(type='Pretrained', checkpoint=...)`` take the same
  path;
* loads model weights strictly (:func:`load_model_state`): missing,
  unexpected and mis-shaped keys are named and refused unless
  ``load_strict = False`` (``--non-strict`` on ``tools/test.py``), which
  loads the matching part and logs the mismatch as a warning;
* provides :class:`SafeCheckpointRunner`, the mmengine ``Runner`` used by
  ``tools/train.py`` and ``tools/test.py``, which applies both config
  fields to ``load_from``, ``resume`` and ``init_cfg`` loading.
"""
import contextlib
import contextvars
import inspect
import io
import logging
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'UnsafeCheckpointError', 'CheckpointMismatchError',
    'checkpoint_safe_globals', 'trust_checkpoints', 'load_checkpoint_file',
    'register_checkpoint_loader', 'load_state_dict_file', 'load_model_state',
    'SafeCheckpointRunner'
]

TRUST_HINT = ('pass --trust-checkpoint to tools/train.py or tools/test.py '
              '(config field `trust_checkpoint = True`; in Python: '
              '`with jclreid.utils.trust_checkpoints(): ...`), only for a '
              'file whose origin you trust')
STRICT_HINT = ('check that the config and the checkpoint describe the same '
               'architecture; to load only the matching part, pass '
               '--non-strict to tools/test.py (config field '
               '`load_strict = False`)')

_TRUST: contextvars.ContextVar = contextvars.ContextVar(
    'jclreid_trust_checkpoint', default=False)
_REGISTERED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects whose unpickling could run code."""


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's state dict does not match the model (strict load)."""


# ---------------------------------------------------------------------------
# The types a run checkpoint holds.
# ---------------------------------------------------------------------------

# numpy dtypes whose arrays and scalars a checkpoint may hold: booleans,
# integers, floats, complex numbers, bytes and str (no object or void dtype).
_SAFE_DTYPE_CHARS = '?bBhHiIlLqQefdFDSU'
# HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer, n).
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _numpy_multiarray():
    """numpy's ``multiarray`` module: ``numpy._core`` (2.x) or
    ``numpy.core`` (1.x)."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to the statistics methods of ``HistoryBuffer``.

    mmengine's ``HistoryBuffer`` stores its statistics methods
    (``HistoryBuffer.min`` ...) in its state; pickle protocol 2 writes each
    as ``builtins.getattr(HistoryBuffer, 'min')``. Allowing the real
    ``getattr`` would let a checkpoint fetch any attribute; this one returns
    only those methods.

    Raises:
        pickle.UnpicklingError: For any other object or name.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(
        HistoryBuffer._statistics_methods)
    if (obj is HistoryBuffer and isinstance(name, str) and name in allowed
            and inspect.isfunction(vars(HistoryBuffer).get(name))):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint; only '
        'the statistics methods of mmengine HistoryBuffer '
        f'{sorted(allowed)} are')


def checkpoint_safe_globals() -> List[Union[Callable, type, Tuple[Any, str]]]:
    """The globals a run checkpoint needs beyond torch's defaults.

    An mmengine ``CheckpointHook`` checkpoint holds, besides tensors and
    plain containers: ``mmengine.logging.HistoryBuffer`` (the message hub's
    log scalars) and its statistics methods (through a restricted
    ``getattr``), numpy arrays (``numpy.ndarray``,
    ``multiarray._reconstruct``), numpy scalars (``multiarray.scalar``) and
    numpy dtypes (``numpy.dtype`` and its per-type classes, e.g.
    ``numpy.dtypes.Float64DType`` in numpy 2). numpy 1.x names its module
    ``numpy.core.multiarray`` and numpy 2.x ``numpy._core.multiarray``; both
    names are allowed so that checkpoints written under either load.

    Returns:
        list: Entries for :func:`torch.serialization.safe_globals`: objects,
        or ``(object, 'module.name')`` pairs for aliased names.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    safe: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    multiarray = _numpy_multiarray()
    for name in ('scalar', '_reconstruct'):
        obj = getattr(multiarray, name)
        for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
            safe.append((obj, f'{module}.{name}'))
    for char in _SAFE_DTYPE_CHARS:
        dtype_cls = type(np.dtype(char))
        if dtype_cls is not np.dtype and dtype_cls not in safe:
            safe.append(dtype_cls)
    for name in ('builtins.getattr', '__builtin__.getattr'):
        safe.append((_history_buffer_getattr, name))
    return safe


# ---------------------------------------------------------------------------
# Loading one file.
# ---------------------------------------------------------------------------


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


def load_from_http(
    filename: str,
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


# ---------------------------------------------------------------------------
# Strict loading into a model.
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The Runner used by the tools.
# ---------------------------------------------------------------------------


def _bool_field(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise TypeError(f'config field {name} must be True or False, got '
                        f'{value!r}')
    return value


class SafeCheckpointRunner(Runner):
    """mmengine ``Runner`` whose checkpoint loading is safe and strict.

    Registers the safe loaders (:func:`register_checkpoint_loader`), loads
    ``load_from`` / ``resume`` checkpoints with :func:`load_model_state`
    (strict unless ``load_strict=False``) and loads them, and the
    ``init_cfg`` weights of every module, with full unpickling only when
    ``trust_checkpoint=True``. Mismatches and refusals are written to the
    run's log file.

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
