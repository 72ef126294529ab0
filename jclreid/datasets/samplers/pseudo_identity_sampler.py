# Copyright (c) jclreid contributors. All rights reserved.
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from jclreid.registry import DATA_SAMPLERS


def _shuffled_queue(rng: np.random.Generator, n: int, total: int,
                    chunks: tuple) -> np.ndarray:
    """``total`` draws from ``range(n)`` as a queue of shuffled rounds.

    Every id is used once per round (a fresh permutation when the queue runs
    out). For the first chunk size in ``chunks`` that is ``<= n``, no
    aligned chunk of the output repeats an id: at a round boundary, the ids
    already in the unfinished chunk are moved to the end of the new round.
    If no chunk size fits, the rounds are simply concatenated.
    """
    chunk = next((c for c in chunks if c <= n), None)
    if chunk is None:
        reps = -(-total // n)
        return np.argsort(rng.random((reps, n)), axis=1).reshape(-1)[:total]
    out = np.empty(total, dtype=np.int64)
    filled = 0
    while filled < total:
        perm = rng.permutation(n)
        tail = filled % chunk
        if tail:
            recent = np.zeros(n, dtype=bool)
            recent[out[filled - tail:filled]] = True
            is_recent = recent[perm]
            perm = np.concatenate([perm[~is_recent], perm[is_recent]])
        take = min(n, total - filled)
        out[filled:filled + take] = perm[:take]
        filled += take
    return out


@DATA_SAMPLERS.register_module()
class PseudoIdentitySampler(Sampler):
    """Exactly P pseudo identities x K instances per rank batch.

    ``K = num_instances`` and ``P = batch_size // num_instances`` (per rank).
    A global batch holds ``world_size * P`` identities; rank ``r`` takes
    identities ``[r * P, (r + 1) * P)`` of it, so an identity is never split
    across ranks nor cut at the end of a batch. Within a rank batch the
    ``K`` indices of one identity are consecutive.

    Identities are drawn without replacement from a shuffled queue that is
    reshuffled when exhausted; no identity appears twice in one global
    batch. Only when there are fewer identities than ``world_size * P``
    (e.g. the first clusters of a weak model) are repeats within a global
    batch unavoidable: then each rank batch still has ``P`` distinct
    identities if there are at least ``P``, and otherwise identities repeat
    within a rank batch too, as evenly as the queue allows.

    Every drawn identity contributes exactly ``K`` indices, spread over its
    cameras in camera round-robin fashion (one member of each camera, then
    a second member of each camera, and so on; the cameras of a last,
    partial round are chosen at random). An identity with ``>= K`` members
    gives ``K`` distinct members covering ``min(#cameras, K)`` cameras. One
    with fewer members gives all of them, and the remaining picks repeat
    members (drawn with replacement), again round-robin over its cameras
    and as evenly over its members as possible. Within an epoch the members
    of one camera of an identity are taken from a queue shuffled once per
    epoch and cycled, so the draws of an identity use its members evenly.

    Outliers (label ``-1``) are never drawn. Before :meth:`set_labels` every
    sample is its own identity. Whenever *every* identity has exactly one
    member (warm-up, e.g. ``labels == arange(N)``), repeating one image
    ``K`` times would only waste compute, so the sampler instead draws
    ``batch_size`` distinct samples per rank from a shuffled queue of the
    samples (a permutation per round; no sample twice in one global batch
    unless there are fewer samples than a global batch), each sample being
    its own positive for the instance loss.

    The sequence depends only on ``(seed, epoch, labels)``: it is computed
    identically on every rank and then sliced by rank.
    ``len(sampler) == iters_per_epoch * batch_size`` whatever the labels,
    because mmengine computes ``max_iters`` once.

    Args:
        dataset: The train dataset (``get_camids()`` is used if present,
            otherwise every sample is in camera 0; ground-truth identities are
            never read).
        batch_size (int): Per-rank batch size; must equal the dataloader's and
            be a multiple of ``num_instances``.
        num_instances (int): K, indices per identity. Defaults to 4.
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
        self.ids_per_batch = batch_size // num_instances  # P per rank
        self.iters_per_epoch = iters_per_epoch
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        n = len(dataset)
        get_camids = getattr(dataset, 'get_camids', None)
        self.camids = (
            np.asarray(get_camids(), dtype=np.int64)
            if callable(get_camids) else np.zeros(n, dtype=np.int64))
        self._index(np.arange(n, dtype=np.int64))

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
        self._index(labels)

    def _index(self, labels: np.ndarray) -> None:
        """Group the non-outlier samples by identity and camera ("cells").

        Also precomputes what every draw of an identity shares: how many of
        its K picks each camera gets in whole camera round-robin passes
        (``_cell_base``), and how many slots (``_id_rem``) of the last,
        partial pass go to randomly chosen cameras among those with more than
        ``_id_rounds`` members.
        """
        self.labels = labels
        k = self.num_instances
        valid = np.flatnonzero(labels >= 0)
        valid = valid[np.lexsort((self.camids[valid], labels[valid]))]
        lab, cam = labels[valid], self.camids[valid]
        new_id = np.ones(valid.size, dtype=bool)
        new_id[1:] = lab[1:] != lab[:-1]
        new_cell = new_id.copy()
        new_cell[1:] |= cam[1:] != cam[:-1]
        cell_start = np.flatnonzero(new_cell)
        cell_size = np.diff(np.append(cell_start, valid.size))
        id_of_cell = np.cumsum(new_id)[cell_start] - 1
        id_cell_start = np.flatnonzero(new_id[cell_start])
        id_num_cells = np.diff(np.append(id_cell_start, cell_start.size))
        id_size = np.add.reduceat(cell_size, id_cell_start)

        # Per draw: q full passes over all members (only when size < K),
        # then `left` slots of a camera round-robin pass (left < size).
        passes = np.where(id_size < k, k // id_size, 0)
        left = k - passes * id_size
        # covered[i, j - 1]: slots taken by j complete round-robin rounds.
        covered = np.add.reduceat(
            np.minimum(cell_size[:, None], np.arange(1, k + 1)),
            id_cell_start,
            axis=0)
        rounds = (covered <= left[:, None]).sum(axis=1)
        taken = np.where(
            rounds > 0, covered[np.arange(id_size.size),
                                np.maximum(rounds - 1, 0)], 0)
        self._members = valid  # sample indices grouped by identity, camera
        self._cell_start = cell_start
        self._cell_size = cell_size
        self._cell_base = (
            passes[id_of_cell] * cell_size +
            np.minimum(cell_size, rounds[id_of_cell]))
        self._cell_of_member = np.repeat(np.arange(cell_start.size), cell_size)
        self._id_cell_start = id_cell_start
        self._id_num_cells = id_num_cells
        self._id_rounds = rounds
        self._id_rem = left - taken
        self._sizes = id_size  # (num_ids, ) members per identity
        self.singleton_only = bool((id_size == 1).all())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.iters_per_epoch * self.batch_size

    def describe(self) -> str:
        """One line for the log: batch composition under the current labels."""
        p, k, w = self.ids_per_batch, self.num_instances, self.world_size
        glob = w * self.batch_size
        n_ids = len(self._sizes)
        if self.singleton_only:
            return (f'singleton labels (warm-up): {self.batch_size} distinct '
                    f'samples per rank, world size {w}, global batch {glob} '
                    f'from {n_ids} samples; P x K = {p} x {k} per rank once '
                    'clusters exist')
        line = (f'P x K = {p} x {k} per rank, world size {w}, global batch '
                f'{glob} ({w * p} identities) from {n_ids} identities')
        if n_ids < w * p:
            line += ('; fewer identities than a global batch needs, so '
                     'identities repeat within a global batch')
        return line

    def _picks(self, rng: np.random.Generator, ids: np.ndarray) -> np.ndarray:
        """K sample indices for each drawn identity.

        Each camera of an identity ("cell") keeps a queue of its members,
        shuffled once per epoch; a draw takes the next ``m`` members from
        the queue of each camera it needs ``m`` picks from (cycling), so the
        picks within a draw are distinct as long as the identity has at least
        K members, and the draws of one identity use its members evenly.

        Args:
            rng: The epoch's generator.
            ids (np.ndarray): (D, ) drawn identities.

        Returns:
            np.ndarray: (D, K) sample indices, grouped by camera.
        """
        k = self.num_instances
        # Shuffle the members within every cell.
        members = self._members[np.lexsort(
            (rng.random(self._members.size), self._cell_of_member))]
        # One row per (draw, camera of the drawn identity), in draw order.
        num_cells = self._id_num_cells[ids]
        pair_draw = np.repeat(np.arange(ids.size), num_cells)
        first = np.cumsum(num_cells) - num_cells
        pair_cell = (
            self._id_cell_start[ids][pair_draw] + np.arange(pair_draw.size) -
            first[pair_draw])
        size = self._cell_size[pair_cell]
        # The partial round-robin pass: `rem` random eligible cameras.
        eligible = size > self._id_rounds[ids][pair_draw]
        key = np.where(eligible, rng.random(pair_draw.size), 2.0)
        order = np.lexsort((key, pair_draw))
        rank = np.empty(pair_draw.size, dtype=np.int64)
        rank[order] = np.arange(pair_draw.size) - first[pair_draw[order]]
        count = (
            self._cell_base[pair_cell] + (rank < self._id_rem[ids][pair_draw]))
        # Where each (draw, camera) starts in its camera's member queue.
        by_cell = np.argsort(pair_cell, kind='stable')
        cum = np.cumsum(count[by_cell]) - count[by_cell]
        cell_first = np.ones(by_cell.size, dtype=bool)
        cell_first[1:] = pair_cell[by_cell][1:] != pair_cell[by_cell][:-1]
        group_start = np.maximum.accumulate(
            np.where(cell_first, np.arange(by_cell.size), 0))
        cursor = np.empty(pair_draw.size, dtype=np.int64)
        cursor[by_cell] = cum - cum[group_start]
        # Expand every (draw, camera) into its picks.
        pick_pair = np.repeat(np.arange(pair_draw.size), count)
        offset = np.cumsum(count) - count
        step = np.arange(pick_pair.size) - offset[pick_pair]
        pos = (cursor[pick_pair] + step) % size[pick_pair]
        return members[self._cell_start[pair_cell[pick_pair]] + pos].reshape(
            ids.size, k)

    def _global_sequence(self) -> np.ndarray:
        """(iters, world_size, batch_size) indices, the same on every rank."""
        rng = np.random.default_rng([self.seed % (2**32), self.epoch])
        w, b = self.world_size, self.batch_size
        shape = (self.iters_per_epoch, w, b)
        if self.singleton_only:
            draws = _shuffled_queue(rng, len(self._members),
                                    self.iters_per_epoch * w * b, (w * b, b))
            return self._members[draws].reshape(shape)
        p = self.ids_per_batch
        ids = _shuffled_queue(rng, len(self._sizes),
                              self.iters_per_epoch * w * p, (w * p, p))
        return self._picks(rng, ids).reshape(shape)

    def __iter__(self) -> Iterator[int]:
        seq = self._global_sequence()[:, self.rank]
        return iter(seq.reshape(-1).tolist())
