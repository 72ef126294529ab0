# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import pytest

from jclreid.datasets import PseudoIdentitySampler


class _Data:

    def __init__(self, n=60, cams=3):
        self.n, self.cams = n, cams

    def __len__(self):
        return self.n

    def get_camids(self):
        return np.arange(self.n) % self.cams


def _sampler(**kw):
    args = dict(batch_size=8, num_instances=4, iters_per_epoch=5, seed=1)
    args.update(kw)
    return PseudoIdentitySampler(_Data(), **args)


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


def test_deterministic_and_epoch_dependent():
    a, b = _sampler(), _sampler()
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


def test_warmup_labels_distinct_samples():
    s = _sampler()
    s.set_labels(np.arange(60))
    for batch in np.array(list(s)).reshape(5, 8):
        assert len(set(batch.tolist())) == 8


def test_rank_shards(monkeypatch):
    import jclreid.datasets.samplers.pseudo_identity_sampler as mod
    shards = []
    for rank in range(2):
        monkeypatch.setattr(mod, 'get_dist_info', lambda r=rank: (r, 2))
        s = _sampler()
        s.set_labels(np.repeat(np.arange(12), 5))
        shards.append(np.array(list(s)).reshape(5, 8))
    glob = shards[0][0].tolist() + shards[1][0].tolist()
    assert len(set(glob)) == 16  # the two slices of one global batch
    assert not np.array_equal(shards[0], shards[1])


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
