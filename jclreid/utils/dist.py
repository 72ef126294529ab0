# Copyright (c) jclreid contributors. All rights reserved.
"""Distributed helpers for things that must agree across ranks."""
from typing import Optional

import numpy as np
import torch
from mmengine.dist import (all_gather, broadcast_object_list, get_rank,
                           get_world_size)


def all_gather_cat(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor from every rank along dim 0, in rank order.

    The first dimension may differ between ranks. Without a process group
    the tensor is returned as is.

    Args:
        tensor (Tensor): (n_r, ...) on this rank.

    Returns:
        Tensor: (sum_r n_r, ...).
    """
    if get_world_size() == 1:
        return tensor
    sizes = [int(s.item()) for s in all_gather(
        torch.tensor([tensor.shape[0]], device=tensor.device))]
    max_len = max(sizes)
    pad = tensor.new_zeros((max_len - tensor.shape[0], ) +
                           tuple(tensor.shape[1:]))
    parts = all_gather(torch.cat([tensor, pad]))
    return torch.cat([p[:n] for p, n in zip(parts, sizes)])


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
        indices = all_gather_cat(indices)
        values = all_gather_cat(values)
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
