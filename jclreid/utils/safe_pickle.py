# Copyright (c) jclreid contributors. All rights reserved.
"""Reading pickles of plain data without running code.

Some datasets ship their splits as pickles (PRAI-1581's ``partitions.pkl``).
``pickle.load`` on such a file runs whatever the file asks for: a crafted
file can name any importable callable (``os.system``) and have it called.
:func:`load_plain_pickle` reads only plain data: lists, tuples, dicts,
strings, bytes, ints, floats, bools and None:

* every global (class or function) the file names is refused by
  ``find_class`` before it is imported, and persistent ids are refused;
* the ``EXT1`` / ``EXT2`` / ``EXT4`` opcodes (``copyreg`` extension codes)
  are refused before unpickling starts: CPython resolves a code already in
  ``copyreg``'s extension cache without calling ``find_class``;
* the loaded object is checked to hold only the plain types (sets,
  bytearrays and anything else built without a global are refused).

With ``allow_numpy=True`` (for files such as ``tools/test.py --dump``),
numeric and string numpy arrays and scalars load too: ``find_class`` then
resolves exactly the numpy globals that rebuild them (``_reconstruct``,
``ndarray``, ``dtype``, ``scalar``) and object arrays are refused.
"""
import io
import os
import os.path as osp
import pickle
import pickletools
from typing import Any

import numpy as np

__all__ = ['UnsafePickleError', 'load_plain_pickle', 'PLAIN_PICKLE_TYPES']

#: The types :func:`load_plain_pickle` returns (containers nest freely).
PLAIN_PICKLE_TYPES = (list, tuple, dict, str, bytes, int, float, bool,
                      type(None))

#: The globals that rebuild numpy arrays and scalars (numpy 1.x and 2.x
#: module names), resolved only with ``allow_numpy=True``.
NUMPY_GLOBALS = frozenset({
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
})


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asks for more than plain data (a class, a function, a
    persistent id or an object of another type)."""


class _PlainUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that imports nothing and loads no persistent
    id; its errors name ``path``."""

    def __init__(self, file, path: str, allow_numpy: bool = False) -> None:
        super().__init__(file)
        self._path = path
        self._allow_numpy = allow_numpy

    def find_class(self, module: str, name: str) -> Any:
        if self._allow_numpy and (module, name) in NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f'refused to load {self._path!r}: it names the global '
            f'{module}.{name}, and only plain data (lists, tuples, dicts, '
            'strings, bytes, ints, floats, bools, None) may be loaded; '
            'loading it would import and could call that global. Convert '
            'the file to plain Python data in a session you trust')

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f'refused to load {self._path!r}: it holds a persistent id, '
            'and only plain data may be loaded')


def _check_opcodes(data: bytes, path: str) -> None:
    """Refuse the extension-code opcodes (see the module docstring)."""
    for opcode, _, pos in pickletools.genops(data):
        if opcode.name in ('EXT1', 'EXT2', 'EXT4'):
            raise UnsafePickleError(
                f'refused to load {path!r}: it uses a copyreg extension code '
                f'({opcode.name} at byte {pos}), which can stand for a '
                'global; only plain data may be loaded')


def _check_plain(obj: Any, path: str, allow_numpy: bool = False) -> None:
    """Raise :class:`UnsafePickleError` if ``obj`` holds anything but
    :data:`PLAIN_PICKLE_TYPES` (and, with ``allow_numpy``, numpy arrays
    and scalars without objects); iterative: deep or cyclic data is
    fine."""
    seen = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if allow_numpy and isinstance(item, (np.ndarray, np.generic)):
            if item.dtype.hasobject:
                raise UnsafePickleError(
                    f'refused to load {path!r}: it holds a numpy object '
                    'array; expected numeric or string arrays only')
            continue
        # exact types: a subclass of list or str is not plain data
        if type(item) not in PLAIN_PICKLE_TYPES:
            raise UnsafePickleError(
                f'refused to load {path!r}: it holds an object of type '
                f'{type(item).__name__}; expected only lists, tuples, '
                'dicts, strings, bytes, ints, floats, bools and None')
        if isinstance(item, (list, tuple, dict)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)


def load_plain_pickle(path: str, allow_numpy: bool = False) -> Any:
    """Load a pickle that holds only plain data, without running code.

    Args:
        path (str): The pickle file.
        allow_numpy (bool): Also accept numeric and string numpy arrays
            and scalars (not object arrays). Defaults to False.

    Returns:
        Any: The loaded object, made only of lists, tuples, dicts, strings,
        bytes, ints, floats, bools and None. Pickles written by Python 2
        load as well when their strings are ASCII (``pickle``'s default).
        Python 3 writes ``bytes`` with protocols 0-2 as a call of
        ``_codecs.encode``, a global, so such files are refused: write
        them with protocol 3 or higher.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        UnsafePickleError: If the file names a global (class or function),
            uses a ``copyreg`` extension code, holds a persistent id or an
            object of another type. Nothing in the file is imported or
            called. The message names the file.
        ValueError: If the file is not a readable pickle (truncated, not a
            pickle, undecodable Python 2 strings); the message names it.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'pickle file {path!r} does not exist or is '
                                'not a file')
    with open(path, 'rb') as f:
        data = f.read()
    try:
        _check_opcodes(data, path)
        obj = _PlainUnpickler(io.BytesIO(data), path, allow_numpy).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
            KeyError, IndexError, AttributeError, MemoryError,
            RecursionError) as e:
        raise ValueError(f'{path!r} is not a readable pickle of plain data '
                         f'({type(e).__name__}: {e})') from None
    _check_plain(obj, path, allow_numpy)
    return obj
