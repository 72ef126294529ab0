# Copyright (c) jclreid contributors. All rights reserved.
"""Distributed helpers for things that must agree across ranks."""
from typing import Optional

import numpy as np
import torch
from mmengine.dist import (all_gather, broadcast_object_list, get_rank,
                           get_world_size)


def gather_by_index(indices: torch.Tensor, values: torch.Tensor,
                    total: int) -> torch.Tensor:
    """Gather per-rank shards of a dataset-sized array, ordered by index.

    Each rank holds the values of some dataset indices (any order,
    interleaved across ranks, with the duplicates that padding samplers
    add). Every rank gets back the full ``(total, ...)`` tensor where row
    ``i`` is the value of index ``i``.

    Args:
        indices (Tensor): (n, ) int indices held by this rank.
        values (Tensor): (n, ...) values of those indices.
        total (int): Dataset size; every index in ``0..total-1`` must be
            held by some rank.

    Returns:
        Tensor: (total, ...) on the device of ``values``.
    """
    indices = indices.to(values.device).long().view(-1)
    if indices.numel() != values.shape[0]:
        raise ValueError(f'gather_by_index: {indices.numel()} indices for '
                         f'{values.shape[0]} values')
    if get_world_size() > 1:
        sizes = all_gather(
            torch.tensor([indices.numel()], device=values.device))
        max_len = int(max(s.item() for s in sizes))
        pad = max_len - indices.numel()
        idx_pad = torch.cat([indices, indices.new_full((pad, ), -1)])
        val_pad = torch.cat(
            [values, values.new_zeros((pad, ) + tuple(values.shape[1:]))])
        all_idx = torch.cat(all_gather(idx_pad))
        all_val = torch.cat(all_gather(val_pad))
        keep = all_idx >= 0
        indices, values = all_idx[keep], all_val[keep]
    out = values.new_zeros((total, ) + tuple(values.shape[1:]))
    seen = torch.zeros(total, dtype=torch.bool, device=values.device)
    if indices.numel() and (indices.min() < 0 or indices.max() >= total):
        raise ValueError(f'gather_by_index: indices must be in [0, {total}), '
                         f'got [{int(indices.min())}, {int(indices.max())}]')
    out[indices] = values
    seen[indices] = True
    if not bool(seen.all()):
        missing = torch.nonzero(~seen).view(-1)[:5].tolist()
        raise RuntimeError(
            f'gather_by_index: {int((~seen).sum())} of {total} indices held '
            f'by no rank (first: {missing})')
    return out


def broadcast_array(array: Optional[np.ndarray], src: int = 0) -> np.ndarray:
    """Broadcast a numpy array from ``src`` to every rank.

    Args:
        array (np.ndarray | None): The array on ``src``; ignored elsewhere.
        src (int): Source rank. Defaults to 0.

    Returns:
        np.ndarray: The array of ``src``, on every rank.
    """
    if get_world_size() == 1:
        return np.asarray(array)
    obj = [array if get_rank() == src else None]
    broadcast_object_list(obj, src=src)
    return np.asarray(obj[0])
