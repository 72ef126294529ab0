# Copyright (c) jclreid contributors. All rights reserved.
"""Distributed helpers for things that must agree across ranks."""
import zlib
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import (all_gather, broadcast, broadcast_object_list,
                           get_rank, get_world_size)
from mmengine.model import is_model_wrapper


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a distributed wrapper (DDP, FSDP...), else the
    model itself."""
    return model.module if is_model_wrapper(model) else model


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


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Broadcast a picklable object (e.g. a summary dict) from ``src`` to
    every rank.

    Args:
        obj (Any): The object on ``src``; ignored elsewhere.
        src (int): Source rank. Defaults to 0.

    Returns:
        Any: The object of ``src``, on every rank; ``obj`` itself without
        a process group (or with one rank).
    """
    if get_world_size() == 1:
        return obj
    box = [obj if get_rank() == src else None]
    broadcast_object_list(box, src=src)
    return box[0]


def broadcast_array(array: Optional[np.ndarray], src: int = 0) -> np.ndarray:
    """Broadcast a numpy array from ``src`` to every rank.

    Args:
        array (np.ndarray | None): The array on ``src``; ignored elsewhere.
        src (int): Source rank. Defaults to 0.

    Returns:
        np.ndarray: The array of ``src``, on every rank.
    """
    return np.asarray(broadcast_object(array, src=src))


def describe_global_batch(loader) -> str:
    """One log line: world size x per-rank batch = global batch, and the
    sampler's P x K (its ``describe()`` when it has one).

    Args:
        loader (DataLoader): The train dataloader of this rank.

    Returns:
        str: E.g. ``'Effective batch: world size 2 x per-rank batch 16 =
        global batch 32; sampler: P x K = 4 x 4 per rank (8 identities per
        global batch)'``.
    """
    world_size = get_world_size()
    per_rank = loader.batch_size
    if per_rank is None:
        per_rank = getattr(loader.batch_sampler, 'batch_size', None)
    sampler = loader.sampler
    line = ('Effective batch: world size {} x per-rank batch {} = '
            'global batch {}').format(
                world_size, per_rank,
                None if per_rank is None else world_size * per_rank)
    describe = getattr(sampler, 'describe', None)
    if callable(describe):
        return f'{line}; sampler: {describe()}'
    bs = getattr(sampler, 'batch_size', None)
    k = getattr(sampler, 'num_instances', None)
    if bs and k:
        line += (f'; sampler: P x K = {bs // k} x {k} per rank '
                 f'({world_size * (bs // k)} identities per global batch)')
    return line


def _named_buffers(module: torch.nn.Module,
                   persistent_only: bool) -> List[Tuple[str, torch.Tensor]]:
    """``module.named_buffers()`` (each tensor once), optionally without
    the buffers registered with ``persistent=False``."""
    out, seen = [], set()
    for mod_name, mod in module.named_modules():
        skip = mod._non_persistent_buffers_set if persistent_only else ()
        for name, buf in mod._buffers.items():
            if buf is None or name in skip or id(buf) in seen:
                continue
            seen.add(id(buf))
            out.append((f'{mod_name}.{name}' if mod_name else name, buf))
    return out


@torch.no_grad()
def broadcast_buffers(module: torch.nn.Module,
                      src: int = 0,
                      persistent_only: bool = False) -> None:
    """Copy the buffers of ``module`` on rank ``src`` to every other rank.

    mmengine wraps models in DDP with ``broadcast_buffers=False`` and
    nothing else keeps buffers in agreement, so BatchNorm running statistics
    drift apart: each rank normalises with the statistics of its own
    batches. Calling this before feature extraction and before evaluation
    makes every rank compute with the same model.

    The buffers are **broadcast from** ``src`` rather than averaged across
    ranks (what mmengine's ``SyncBuffersHook`` does), because:

    * rank ``src`` (0) is the one that writes checkpoints, and broadcasting
      never changes its buffers, so the checkpoint equals the model every
      rank evaluated, whenever it is written;
    * it is exact for every dtype: integer buffers (``num_batches_tracked``,
      label buffers) are copied, not divided through floats, and buffers
      that already agree stay bit-identical for any world size;
    * the result is a model that really existed (rank 0's running
      statistics describe rank 0's batches); a mean of running variances
      describes no data stream.

    Buffers are grouped by (device, dtype) and each group is flattened and
    sent in one collective, through :func:`mmengine.dist.broadcast`, which
    moves a group to the backend's device (CPU for gloo, the current GPU
    for nccl) when needed and copies the result back: every buffer stays
    on its device, as the same tensor object (updated in place). Before
    that, the ranks compare the names, shapes and dtypes of their buffers
    and all raise the same ``ValueError`` if they differ, rather than hang
    or copy bytes into the wrong tensors.

    Without a process group (or with one rank) this does nothing.

    Args:
        module (nn.Module): Model whose buffers to synchronise (unwrap a
            DDP wrapper first, or pass it: the wrapper's buffers are its
            module's).
        src (int): Rank whose buffers every rank gets. Defaults to 0.
        persistent_only (bool): Only the buffers a ``state_dict`` (hence a
            checkpoint) holds, skipping those registered with
            ``persistent=False`` (in jclreid: the memories and the pseudo
            label buffer, which are kept equal on every rank by
            construction and can be N x D large). Defaults to False.

    Raises:
        ValueError: If the ranks' buffers differ in names, shapes or dtypes.
    """
    world_size = get_world_size()
    if world_size == 1:
        return
    buffers = _named_buffers(module, persistent_only)
    signature = repr([(name, tuple(buf.shape), str(buf.dtype))
                      for name, buf in buffers])
    mine = torch.tensor([len(buffers), zlib.crc32(signature.encode())],
                        dtype=torch.int64)
    signatures = [tuple(s.tolist()) for s in all_gather(mine)]
    if any(s != signatures[src] for s in signatures):
        bad = [r for r, s in enumerate(signatures) if s != signatures[src]]
        raise ValueError(
            f'broadcast_buffers: the buffers (names, shapes, dtypes) of '
            f'rank(s) {bad} differ from those of rank {src} (number of '
            f'buffers per rank: {[s[0] for s in signatures]}); every rank '
            'must hold the same model')

    groups: Dict[Tuple[torch.device, torch.dtype],
                 List[torch.Tensor]] = OrderedDict()
    for _, buf in buffers:
        groups.setdefault((buf.device, buf.dtype), []).append(buf)
    is_src = get_rank() == src
    for (_, dtype), bufs in groups.items():
        flat = torch.cat([b.detach().reshape(-1) for b in bufs])
        if flat.numel() == 0:  # e.g. memories not filled yet
            continue
        if dtype == torch.bool:  # not every backend sends bools
            flat = flat.view(torch.uint8)
        broadcast(flat, src=src)
        if is_src:
            continue
        if dtype == torch.bool:
            flat = flat.view(torch.bool)
        offset = 0
        for buf in bufs:
            n = buf.numel()
            buf.copy_(flat[offset:offset + n].view_as(buf))
            offset += n
