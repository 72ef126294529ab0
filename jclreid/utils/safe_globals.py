# Copyright (c) jclreid contributors. All rights reserved.
"""The types a run checkpoint may hold beyond tensors.

An mmengine ``CheckpointHook`` checkpoint holds the message hub's
``HistoryBuffer`` objects, numpy arrays, scalars and dtypes besides tensors
and plain containers. ``torch.load(weights_only=True)`` refuses them unless
they are allowed explicitly: :func:`checkpoint_safe_globals` lists exactly
those, for :func:`torch.serialization.safe_globals`.
"""
import inspect
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np

__all__ = ['checkpoint_safe_globals']

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
