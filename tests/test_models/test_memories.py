# Copyright (c) jclreid contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from jclreid.models import ClusterMemory, InstanceMemory


def _norm(x):
    return F.normalize(x, dim=-1)


def _setup():
    torch.manual_seed(0)
    centroids = torch.randn(3, 4)
    feats = _norm(torch.randn(5, 4))
    labels = torch.tensor([0, 0, 2, -1, 0])
    return centroids, feats, labels


def test_cluster_memory_hard():
    centroids, feats, labels = _setup()
    mem = ClusterMemory(4, momentum=0.2, mode='hard')
    mem.reset(centroids)
    c = _norm(centroids)
    mem.update(feats, labels)
    expected = c.clone()
    members = [0, 1, 4]
    hardest = members[int(torch.argmin(feats[members] @ c[0]))]
    expected[0] = _norm(0.2 * c[0] + 0.8 * feats[hardest])
    expected[2] = _norm(0.2 * c[2] + 0.8 * feats[2])
    assert torch.allclose(mem.features, expected, atol=1e-6)


def test_cluster_memory_mean_and_sample():
    centroids, feats, labels = _setup()
    c = _norm(centroids)
    mean_mem = ClusterMemory(4, momentum=0.5, mode='mean')
    mean_mem.reset(centroids)
    mean_mem.update(feats, labels)
    assert torch.allclose(
        mean_mem.features[0],
        _norm(0.5 * c[0] + 0.5 * feats[[0, 1, 4]].mean(0)),
        atol=1e-6)
    assert torch.allclose(mean_mem.features[1], c[1])  # untouched
    sample_mem = ClusterMemory(4, momentum=0.5, mode='sample')
    sample_mem.reset(centroids)
    sample_mem.update(feats, labels)
    x = c[0]
    for i in (0, 1, 4):
        x = _norm(0.5 * x + 0.5 * feats[i])
    assert torch.allclose(sample_mem.features[0], x, atol=1e-6)


def test_cluster_memory_errors_and_not_persistent():
    mem = ClusterMemory(4)
    with pytest.raises(ValueError, match='mode'):
        ClusterMemory(4, mode='max')
    with pytest.raises(ValueError, match=r'\(C, 4\)'):
        mem.reset(torch.randn(3, 5))
    mem.reset(torch.randn(3, 4))
    assert 'features' not in mem.state_dict()


def test_instance_memory():
    mem = InstanceMemory(4, momentum=0.3)
    init = torch.randn(6, 4)
    mem.reset(init)
    feats = _norm(torch.randn(2, 4))
    mem.update(feats, torch.tensor([1, 4]))
    expected = _norm(init)
    expected[1] = _norm(0.3 * expected[1] + 0.7 * feats[0])
    expected[4] = _norm(0.3 * expected[4] + 0.7 * feats[1])
    assert torch.allclose(mem.features, expected, atol=1e-6)
    # Repeated index: updated once per occurrence, in order.
    mem.reset(init)
    mem.update(feats, torch.tensor([2, 2]))
    x = _norm(0.3 * _norm(init)[2] + 0.7 * feats[0])
    x = _norm(0.3 * x + 0.7 * feats[1])
    assert torch.allclose(mem.features[2], x, atol=1e-6)
    assert 'features' not in mem.state_dict()


def test_update_keeps_autograd_of_earlier_loss():
    mem = ClusterMemory(4)
    mem.reset(torch.randn(3, 4))
    feats = _norm(torch.randn(2, 4)).requires_grad_()
    loss = (feats @ mem.features.t()).sum()
    mem.update(feats.detach(), torch.tensor([0, 1]))
    loss.backward()  # would fail if the buffer were modified in place
    assert feats.grad is not None


def test_base_memory_template():
    from jclreid.models.memories import BaseMemory

    class LastRow(BaseMemory):
        ROWS = ('R', 'rows')

        def _update(self, memory, features, targets):
            if targets.numel() == 0:
                return None
            memory[-1] = self._blend(memory[-1], features[-1], dim=0)
            return memory

    with pytest.raises(ValueError, match=r'LastRow.momentum must be in'):
        LastRow(4, momentum=1.5)
    mem = LastRow(4, momentum=0.25)
    with pytest.raises(ValueError, match=r'LastRow.reset expects \(R, 4\) '
                       r'rows, got \(2, 3\)'):
        mem.reset(torch.randn(2, 3))
    init = torch.randn(3, 4)
    mem.reset(init)
    assert torch.allclose(mem.features, _norm(init))
    before = mem.features
    mem.update(torch.randn(2, 4), torch.zeros(0))
    assert mem.features is before  # None: left as it is
    feats = torch.randn(2, 4)
    mem.update(feats, torch.zeros(2))
    assert mem.features is not before  # replaced, not modified in place
    assert torch.equal(before, _norm(init))
    expected = _norm(init)
    expected[-1] = _norm(0.25 * expected[-1] + 0.75 * _norm(feats)[-1])
    assert torch.allclose(mem.features, expected, atol=1e-6)
    assert 'features' not in mem.state_dict()
    with pytest.raises(NotImplementedError):
        BaseMemory(4).update(torch.randn(1, 4), torch.zeros(1))
