# Copyright (c) jclreid contributors. All rights reserved.
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from jclreid.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class PseudoIdentitySampler(Sampler):
    """P pseudo identities x K instances per batch, fixed epoch length.

    Each global batch (``world_size * batch_size`` indices) is made of
    pseudo identities drawn without replacement (reshuffled when all were
    used), each contributing up to ``num_instances`` samples chosen across
    as many cameras as possible; an identity with fewer samples contributes
    all of them and further identities fill the batch, so every batch has
    exactly ``batch_size`` indices. A sample repeats within a batch only
    when the identities run out (fewer labelled samples than a global
    batch, e.g. the first clusters of a weak model).
    Outliers (label ``-1``) are never drawn. Before :meth:`set_labels` is
    called every sample is its own identity (uniform sampling).

    The sequence depends only on ``(seed, epoch, labels)``: it is the same on
    every rank, and rank ``r`` takes the ``r``-th ``batch_size`` slice of
    each global batch. ``len(sampler) = iters_per_epoch * batch_size``
    whatever the labels, because mmengine computes ``max_iters`` once.

    Args:
        dataset: The train dataset (``get_camids()`` is used if present;
            ground-truth identities are never read).
        batch_size (int): Per-rank batch size; must equal the dataloader's.
        num_instances (int): K. Defaults to 4.
        iters_per_epoch (int): Batches per epoch. Defaults to 200.
        seed (int, optional): Shared seed; None draws one synchronised
            across ranks. Defaults to None.
    """

    def __init__(self,
                 dataset,
                 batch_size: int,
                 num_instances: int = 4,
                 iters_per_epoch: int = 200,
                 seed: Optional[int] = None) -> None:
        if batch_size < 1 or num_instances < 1 or iters_per_epoch < 1:
            raise ValueError(
                'PseudoIdentitySampler: batch_size, num_instances and '
                'iters_per_epoch must be >= 1, got '
                f'{batch_size}, {num_instances}, {iters_per_epoch}')
        if batch_size % num_instances:
            raise ValueError(
                f'PseudoIdentitySampler: batch_size ({batch_size}) must be a '
                f'multiple of num_instances ({num_instances})')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.iters_per_epoch = iters_per_epoch
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        n = len(dataset)
        get_camids = getattr(dataset, 'get_camids', None)
        self.camids = (
            np.asarray(get_camids(), dtype=np.int64)
            if callable(get_camids) else np.zeros(n, dtype=np.int64))
        self.labels = np.arange(n, dtype=np.int64)

    def set_labels(self, labels: np.ndarray) -> None:
        """Use new pseudo labels, (N, ) int, ``-1`` for outliers."""
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(self.dataset), ):
            raise ValueError(
                f'PseudoIdentitySampler.set_labels: expected '
                f'({len(self.dataset)},) labels, got {labels.shape}')
        if not (labels >= 0).any():
            raise ValueError('PseudoIdentitySampler.set_labels: every '
                             'sample is an outlier; nothing to sample')
        self.labels = labels

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.iters_per_epoch * self.batch_size

    def _groups(self):
        valid = np.flatnonzero(self.labels >= 0)
        order = np.argsort(self.labels[valid], kind='stable')
        valid = valid[order]
        _, starts = np.unique(self.labels[valid], return_index=True)
        return np.split(valid, starts[1:])

    def _pick(self, rng, members: np.ndarray) -> np.ndarray:
        """Up to K members of one identity, spread over cameras."""
        k = self.num_instances
        if members.size <= k:
            return rng.permutation(members)
        members = rng.permutation(members)
        cams = self.camids[members]
        # Round-robin over cameras: first one sample per camera, and so on.
        rank_in_cam = np.zeros(members.size, dtype=np.int64)
        seen: dict = {}
        for j, c in enumerate(cams):
            rank_in_cam[j] = seen.get(c, 0)
            seen[c] = rank_in_cam[j] + 1
        order = np.lexsort((rng.rand(members.size), rank_in_cam))
        return members[order[:k]]

    def _global_sequence(self) -> np.ndarray:
        rng = np.random.RandomState((self.seed + self.epoch) % (2**32))
        groups = self._groups()
        total = self.world_size * self.batch_size
        queue = []
        batches = []
        for _ in range(self.iters_per_epoch):
            batch = []
            while len(batch) < total:
                if not queue:
                    queue = list(rng.permutation(len(groups)))
                picked = self._pick(rng, groups[queue.pop()])
                picked = picked[:total - len(batch)]
                batch.extend(picked.tolist())
            batches.append(batch)
        return np.asarray(batches, dtype=np.int64)  # (iters, total)

    def __iter__(self) -> Iterator[int]:
        seq = self._global_sequence()
        start = self.rank * self.batch_size
        return iter(seq[:, start:start + self.batch_size].reshape(-1).tolist())
