# Copyright (c) jclreid contributors. All rights reserved.
"""Write a generated dataset into a folder once, atomically, on one rank."""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable

from mmengine.dist import barrier, get_rank, get_world_size

META_FILE = 'meta.json'


def _sequences_as(kind: type, params: dict) -> dict:
    return {
        k: kind(v) if isinstance(v, (list, tuple)) else v
        for k, v in params.items()
    }


def ensure_generated(data_root: str, generator: str,
                     generate_fn: Callable[..., dict], **params) -> None:
    """Generate a dataset into ``data_root`` unless it is already there.

    The data is written into a temporary folder beside ``data_root`` and
    renamed into place, so an interrupted run never leaves half a dataset.
    Only rank 0 writes; the others wait. An existing folder is never
    modified: if it was generated with other parameters, an error says so.

    ``params`` are written once: the generator is called with them
    (sequences as tuples) and ``meta.json`` stores them (sequences as
    lists, with ``generator``), so the metadata cannot drift from the data.

    Args:
        data_root (str): Target folder.
        generator (str): Name of the generator, stored with the parameters.
        generate_fn (callable): ``generate_fn(folder, **params) -> counts``
            writes the dataset into ``folder``.
        **params: Generator parameters (JSON-serialisable once sequences
            are lists), stored in ``meta.json`` and compared on later runs.
    """
    call_args = _sequences_as(tuple, params)
    params = dict(generator=generator, **_sequences_as(list, params))
    data_root = osp.abspath(data_root)
    meta_path = osp.join(data_root, META_FILE)
    if get_rank() == 0:
        exists = osp.isdir(data_root) and os.listdir(data_root)
        if not exists:
            parent = osp.dirname(data_root)
            os.makedirs(parent, exist_ok=True)
            tmp = tempfile.mkdtemp(
                prefix=f'.{osp.basename(data_root)}.tmp', dir=parent)
            try:
                counts = generate_fn(tmp, **call_args)
                with open(osp.join(tmp, META_FILE), 'w',
                          encoding='utf-8') as f:
                    json.dump(dict(params=params, counts=counts), f,
                              indent=2, sort_keys=True)
                _move_into_place(tmp, data_root, meta_path)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    if get_world_size() > 1:
        barrier()
    if not osp.isfile(meta_path):
        return  # a user's own folder in the same layout: just read it
    with open(meta_path, encoding='utf-8') as f:
        saved = json.load(f).get('params')
    if saved != params:
        raise ValueError(
            f'{data_root!r} holds synthetic data generated with {saved}, '
            f'but the config asks for {params}; point data_root to another '
            'folder or delete this one to regenerate it')


def _move_into_place(tmp: str, data_root: str, meta_path: str) -> None:
    """Rename the finished ``tmp`` folder to ``data_root``. When another
    process (a second run started at the same time) has put its complete
    copy there first, keep that one and remove ``tmp``."""
    try:
        if osp.isdir(data_root):
            os.rmdir(data_root)  # empty folder
        os.replace(tmp, data_root)
    except OSError:
        if not osp.isfile(meta_path):
            raise
        shutil.rmtree(tmp, ignore_errors=True)
