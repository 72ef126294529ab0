# Copyright (c) jclreid contributors. All rights reserved.
"""Reading the features dump of ``tools/test.py --dump`` without running
code.

The dump (written by :class:`~jclreid.evaluation.metrics.DumpReIDRanking`)
is a pickle of a dict of numpy arrays and a list of paths. ``pickle.load``
would run whatever a crafted file asks for, so :func:`load_reid_dump` reads
it with :func:`~jclreid.utils.load_plain_pickle` (``allow_numpy=True``):
plain containers, numbers, strings and numeric or string arrays only.
"""
import numpy as np

from jclreid.utils.safe_pickle import load_plain_pickle

__all__ = ['load_reid_dump']

#: Keys of a dump and what each must be.
REQUIRED_KEYS = ('features', 'pids', 'camids', 'is_query', 'img_paths')
RANKING_KEYS = ('query_index', 'gallery_index', 'ranking', 'distances')


def load_reid_dump(path: str) -> dict:
    """Load and check a ``tools/test.py --dump`` file.

    Args:
        path (str): The ``.pkl`` dump.

    Returns:
        dict: ``features`` (N, D) float32, ``pids``, ``camids``,
        ``is_query`` (N, ), ``img_paths`` (list of N str) and, when present,
        ``query_index`` (Q, ), ``gallery_index`` (G, ), ``ranking`` (Q, k)
        positions into ``gallery_index``, ``distances`` (Q, k).

    Raises:
        UnsafePickleError: The file names a global other than numpy's
            array rebuilders, or holds an object array (see
            :func:`~jclreid.utils.load_plain_pickle`); nothing in it ran.
        ValueError: The file is not a dump (a key is missing or the lengths
            disagree); the message names the file and the key.
    """
    dump = load_plain_pickle(path, allow_numpy=True)
    if not isinstance(dump, dict):
        raise ValueError(f'{path!r} is not a tools/test.py --dump file: it '
                         f'holds a {type(dump).__name__}, expected a dict')
    missing = [k for k in REQUIRED_KEYS if k not in dump]
    if missing:
        raise ValueError(f'{path!r} is not a tools/test.py --dump file: '
                         f'missing {", ".join(missing)}')
    n = len(dump['img_paths'])
    feats = np.asarray(dump['features'])
    if feats.ndim != 2 or feats.shape[0] != n:
        raise ValueError(f'{path!r}: features must be (N={n}, D), got '
                         f'{feats.shape}')
    for key in ('pids', 'camids', 'is_query'):
        if np.asarray(dump[key]).shape != (n, ):
            raise ValueError(f'{path!r}: {key} must have shape ({n},), got '
                             f'{np.asarray(dump[key]).shape}')
    if all(k in dump for k in RANKING_KEYS):
        q, g = len(dump['query_index']), len(dump['gallery_index'])
        ranking = np.asarray(dump['ranking'])
        if ranking.shape[0] != q or np.asarray(
                dump['distances']).shape != ranking.shape or (
                    ranking.size and (ranking.min() < 0 or
                                      ranking.max() >= g)):
            raise ValueError(f'{path!r}: ranking must be (Q={q}, k) '
                             f'positions < G={g}, with distances alike')
    dump['is_query'] = np.asarray(dump['is_query']).astype(bool)
    dump['features'] = feats.astype(np.float32, copy=False)
    return dump
