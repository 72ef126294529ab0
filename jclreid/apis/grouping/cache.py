# Copyright (c) jclreid contributors. All rights reserved.
"""The feature cache of :func:`group_folder`: features saved in the output
folder with a key (checkpoint SHA-256, model and pipeline config, the image
list with sizes and mtimes), loaded only when the key matches."""
import hashlib
import io
import json
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from jclreid.utils.fileio import atomic_write

FEATURES_FILE = 'features.npz'
_CACHE_VERSION = 1


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _plain(value):
    """A config value (ConfigDict, tuples, ...) as JSON-able data."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def features_cache_key(checkpoint_sha256: str, model_cfg, pipeline,
                       paths: Sequence[str]) -> str:
    """The key of a feature cache: what changes the features.

    Args:
        checkpoint_sha256 (str): SHA-256 of the checkpoint file.
        model_cfg (dict): The config's ``model`` (architecture).
        pipeline (list[dict]): The extraction pipeline.
        paths (Sequence[str]): The image files, each with its size and
            modification time (``st_mtime_ns``): a changed, added or
            removed file changes the key.

    Returns:
        str: SHA-256 hex digest.
    """
    files = []
    for p in paths:
        st = os.stat(p)
        files.append([osp.abspath(p), st.st_size, st.st_mtime_ns])
    blob = json.dumps(
        dict(
            version=_CACHE_VERSION,
            checkpoint=checkpoint_sha256,
            model=_plain(model_cfg),
            pipeline=_plain(list(pipeline)),
            files=files),
        sort_keys=True).encode('utf-8')
    return hashlib.sha256(blob).hexdigest()


def save_cached_features(path: str, key: str, features: np.ndarray,
                         paths: Sequence[str],
                         skipped: Sequence[str]) -> None:
    """Write the features of ``paths`` (and the ``skipped`` files) to an
    ``.npz`` file, atomically.

    Args:
        path (str): The ``.npz`` file.
        key (str): :func:`features_cache_key`.
        features (np.ndarray): (N, D) float32, row i the features of
            ``paths[i]``.
        paths (Sequence[str]): N image paths.
        skipped (Sequence[str]): Unreadable files left out.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] != len(paths):
        raise ValueError(f'save_cached_features: {features.shape} features '
                         f'for {len(paths)} paths')
    buf = io.BytesIO()
    np.savez(
        buf,
        key=np.array(key),
        features=features,
        paths=np.array(list(paths), dtype=str),
        skipped=np.array(list(skipped), dtype=str))
    atomic_write(buf.getvalue(), path)


def load_cached_features(
        path: str,
        key: str) -> Optional[Tuple[np.ndarray, List[str], List[str]]]:
    """Read a feature cache written by :func:`save_cached_features`.

    Loaded with ``allow_pickle=False`` (nothing in it can run code).

    Returns:
        tuple | None: ``(features (N, D) float32, paths, skipped)``, or
        None when the file is absent, unreadable or made for another
        ``key`` (another checkpoint, config or image list).
    """
    if not osp.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data['key']) != key:
                return None
            features = data['features'].astype(np.float32)
            paths = [str(p) for p in data['paths']]
            skipped = [str(p) for p in data['skipped']]
    except (OSError, ValueError, KeyError):
        return None
    if features.ndim != 2 or features.shape[0] != len(paths):
        return None
    return features, paths, skipped
