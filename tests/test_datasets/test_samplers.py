# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest

import jclreid.datasets.samplers.pseudo_identity_sampler as sampler_module
from jclreid.datasets import PseudoIdentitySampler


class _Data:

    def __init__(self, n=60, cams=3, camids=None):
        self.n, self.cams = n, cams
        self.camids = (np.arange(n) % cams if camids is None else camids)

    def __len__(self):
        return self.n

    def get_camids(self):
        return self.camids


def _sampler(**kw):
    args = dict(batch_size=8, num_instances=4, iters_per_epoch=5, seed=1)
    args.update(kw)
    return PseudoIdentitySampler(_Data(), **args)


def _ranks(monkeypatch, dataset, labels, world=4, epoch=0, **kw):
    """Per-rank batches (world, iters, batch_size) and rank 0's sampler."""
    out, samplers = [], []
    for rank in range(world):
        monkeypatch.setattr(
            sampler_module, 'get_dist_info', lambda r=rank: (r, world))
        s = PseudoIdentitySampler(dataset, **kw)
        if labels is not None:
            s.set_labels(labels)
        s.set_epoch(epoch)
        seq = np.array(list(s))
        assert len(seq) == len(s) == kw['iters_per_epoch'] * kw['batch_size']
        out.append(seq.reshape(kw['iters_per_epoch'], kw['batch_size']))
        samplers.append(s)
    return np.stack(out), samplers[0]


def _clusters_1_to_60(seed=0):
    """Identity j has j + 1 members (1..60), random cameras among 6, plus
    100 outliers, all shuffled."""
    rng = np.random.RandomState(seed)
    labels = np.concatenate(
        [np.repeat(np.arange(60), np.arange(1, 61)),
         np.full(100, -1)])
    labels = labels[rng.permutation(labels.size)]
    cams = rng.randint(0, 6, labels.size)
    return labels, _Data(labels.size, camids=cams)


def test_exact_pk_batches_across_ranks(monkeypatch):
    labels, data = _clusters_1_to_60()
    k, bs, world = 4, 16, 4
    p = bs // k
    batches, s = _ranks(
        monkeypatch,
        data,
        labels,
        world=world,
        batch_size=bs,
        num_instances=k,
        iters_per_epoch=30,
        seed=3)
    members = {j: np.flatnonzero(labels == j) for j in range(60)}
    drawn = []
    for it in range(batches.shape[1]):
        seen = set()
        for rank in range(world):
            b = batches[rank, it]
            assert (labels[b] >= 0).all()  # no outliers
            blocks = b.reshape(p, k)  # K consecutive indices per identity
            ids = labels[blocks]
            assert (ids == ids[:, :1]).all()
            ids = ids[:, 0]
            assert len(set(ids.tolist())) == p
            assert not seen & set(ids.tolist())  # disjoint across ranks
            seen |= set(ids.tolist())
            drawn.extend(ids.tolist())
            for pid, block in zip(ids, blocks):
                m = members[pid]
                if m.size >= k:
                    assert len(set(block.tolist())) == k
                else:
                    assert set(block.tolist()) == set(m.tolist())
                n_cams = len(set(data.camids[m].tolist()))
                assert len(set(data.camids[block].tolist())) == min(n_cams, k)
        assert len(seen) == world * p
    # Without-replacement queue: every identity drawn equally often (+-1).
    counts = np.bincount(drawn, minlength=60)
    assert counts.max() - counts.min() <= 1
    assert 'P x K = 4 x 4 per rank, world size 4' in s.describe()
    assert 'global batch 64 (16 identities)' in s.describe()


def test_small_identities_spread_over_cameras():
    # One identity with 3 members in cameras (0, 0, 1) and K = 8: all three
    # members, both cameras, each member 2 or 3 times.
    data = _Data(10, camids=np.array([0, 0, 1, 2, 2, 2, 2, 2, 2, 2]))
    s = PseudoIdentitySampler(
        data, batch_size=16, num_instances=8, iters_per_epoch=10, seed=0)
    s.set_labels(np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]))
    for block in np.array(list(s)).reshape(-1, 8):
        if block[0] < 3:
            counts = np.bincount(block, minlength=3)
            assert counts.sum() == 8 and counts.min() >= 2
            assert counts.max() <= 3
        else:
            # 7 members, K = 8: all of them, one of them twice.
            assert set(block.tolist()) == set(range(3, 10))


def test_large_identity_uses_members_evenly():
    # One identity, one camera, 12 members, K = 4: an epoch cycles through
    # a shuffled queue, so 30 draws use each member 10 times.
    data = _Data(12, cams=1)
    s = PseudoIdentitySampler(
        data, batch_size=4, num_instances=4, iters_per_epoch=30, seed=0)
    s.set_labels(np.zeros(12, dtype=np.int64))
    seq = np.array(list(s)).reshape(30, 4)
    assert all(len(set(b.tolist())) == 4 for b in seq)
    assert np.bincount(seq.ravel()).tolist() == [10] * 12


def test_same_on_every_rank_and_epoch_dependent(monkeypatch):
    labels, data = _clusters_1_to_60()
    kw = dict(batch_size=16, num_instances=4, iters_per_epoch=6, seed=5)
    a, _ = _ranks(monkeypatch, data, labels, **kw)
    b, _ = _ranks(monkeypatch, data, labels, **kw)
    c, _ = _ranks(monkeypatch, data, labels, epoch=1, **kw)
    d, _ = _ranks(monkeypatch, data, labels, **dict(kw, seed=6))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)
    assert not np.array_equal(a[0], a[1])  # ranks take different slices


def test_deterministic_and_epoch_dependent():
    a, b = _sampler(), _sampler()
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first


def test_length_batches_and_outliers():
    s = _sampler()
    labels = np.repeat(np.arange(12), 5)
    labels[:5] = -1
    s.set_labels(labels)
    seq = list(s)
    assert len(seq) == len(s) == 40
    batches = np.array(seq).reshape(5, 8)
    for b in batches:
        assert len(set(b.tolist())) == 8
        assert (labels[b] >= 0).all()
        ids, counts = np.unique(labels[b], return_counts=True)
        assert counts.tolist() == [4, 4]  # P x K
        for pid in ids:  # K drawn across cameras where possible
            cams = s.camids[b[labels[b] == pid]]
            assert len(set(cams.tolist())) == 3


@pytest.mark.parametrize('labels', [None, 'arange_with_outliers'])
def test_warmup_singletons_draw_distinct_samples(monkeypatch, labels):
    n = 60
    if labels is not None:
        labels = np.arange(n)
        labels[::7] = -1
    batches, s = _ranks(
        monkeypatch,
        _Data(n),
        labels,
        world=4,
        batch_size=8,
        num_instances=4,
        iters_per_epoch=10,
        seed=2)
    assert s.singleton_only
    assert 'warm-up' in s.describe()
    for it in range(batches.shape[1]):
        glob = batches[:, it].ravel()  # 32 <= #samples: no repeats at all
        assert len(set(glob.tolist())) == glob.size
        if labels is not None:
            assert (labels[glob] >= 0).all()
    counts = np.bincount(batches.ravel(), minlength=n)
    valid = counts if labels is None else counts[labels >= 0]
    assert valid.max() - valid.min() <= 1


def test_warmup_fewer_samples_than_a_global_batch(monkeypatch):
    # 12 samples, global batch 16: repeats across ranks are unavoidable,
    # but every rank batch still holds distinct samples.
    batches, _ = _ranks(
        monkeypatch,
        _Data(12),
        np.arange(12),
        world=2,
        batch_size=8,
        num_instances=4,
        iters_per_epoch=7,
        seed=0)
    for b in batches.reshape(-1, 8):
        assert len(set(b.tolist())) == 8


def test_fewer_identities_than_a_global_batch(monkeypatch):
    # 6 identities, 4 ranks x P = 2: each rank batch has 2 distinct ones.
    labels = np.repeat(np.arange(6), 10)
    batches, s = _ranks(
        monkeypatch,
        _Data(),
        labels,
        world=4,
        batch_size=8,
        num_instances=4,
        iters_per_epoch=9,
        seed=0)
    for b in batches.reshape(-1, 8):
        assert len(set(labels[b[::4]].tolist())) == 2
    assert 'repeat' in s.describe()


def test_rank_shards(monkeypatch):
    batches, _ = _ranks(
        monkeypatch,
        _Data(),
        np.repeat(np.arange(12), 5),
        world=2,
        batch_size=8,
        num_instances=4,
        iters_per_epoch=5,
        seed=1)
    glob = batches[0, 0].tolist() + batches[1, 0].tolist()
    assert len(set(glob)) == 16  # the two slices of one global batch
    assert not np.array_equal(batches[0], batches[1])


def test_errors():
    with pytest.raises(ValueError, match='multiple'):
        _sampler(batch_size=6)
    s = _sampler()
    with pytest.raises(ValueError, match='outlier'):
        s.set_labels(np.full(60, -1))
    with pytest.raises(ValueError, match=r'\(60,\)'):
        s.set_labels(np.zeros(3))


def test_fewer_labelled_samples_than_a_batch():
    s = _sampler(batch_size=8, num_instances=2)
    labels = np.full(60, -1)
    labels[[3, 7, 11]] = [0, 0, 1]
    s.set_labels(labels)
    seq = np.array(list(s))
    assert len(seq) == 40
    assert set(seq.tolist()) == {3, 7, 11}
    for block in seq.reshape(-1, 2):  # K = 2 of one identity
        assert len(set(labels[block].tolist())) == 1
