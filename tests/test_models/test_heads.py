# Copyright (c) jclreid contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from jclreid.models import JCLHead
from jclreid.structures import ReIDDataSample


def _samples(indices, pids=None):
    return [
        ReIDDataSample(metainfo=dict(sample_idx=i, pid=999)) for i in indices
    ]


def test_reset_builds_centroids_and_buffer():
    head = JCLHead(feat_dim=4)
    assert not head.is_initialized
    feats = torch.randn(6, 4)
    labels = torch.tensor([0, 1, 0, -1, 1, 1])
    head.reset(feats, labels)
    normed = F.normalize(feats, dim=1)
    expected0 = F.normalize(normed[[0, 2]].mean(0), dim=0)
    assert torch.allclose(head.cluster_memory.features[0], expected0,
                          atol=1e-6)
    assert head.cluster_memory.features.shape == (2, 4)
    assert torch.allclose(head.instance_memory.features, normed)
    assert torch.equal(head.labels, labels)
    with pytest.raises(ValueError, match='contiguous'):
        head.reset(feats, torch.tensor([0, 2, 0, -1, 2, 2]))


def test_loss_uses_buffer_not_gt_and_updates():
    torch.manual_seed(0)
    head = JCLHead(feat_dim=4)
    with pytest.raises(RuntimeError, match='PseudoLabelHook'):
        head.loss(torch.randn(2, 4), _samples([0, 1]))
    head.reset(torch.randn(6, 4), torch.tensor([0, 1, 0, -1, 1, 1]))
    before = head.instance_memory.features.clone()
    feats = F.normalize(torch.randn(2, 4), dim=1).requires_grad_()
    losses = head.loss(feats, _samples([0, 4]))
    assert set(losses) == {'loss_cluster', 'loss_instance'}
    sum(losses.values()).backward()
    assert feats.grad is not None
    changed = (head.instance_memory.features != before).any(1)
    assert changed.tolist() == [True, False, False, False, True, False]


def test_warmup_instance_only():
    head = JCLHead(feat_dim=4)
    keys = set(head.state_dict())
    head.reset(torch.randn(5, 4), torch.arange(5), warmup=True)
    assert head.warmup
    losses = head.loss(F.normalize(torch.randn(2, 4), dim=1), _samples([1, 3]))
    assert set(losses) == {'loss_instance'}
    # The next reset leaves the warm-up: both losses, centroids refilled.
    head.reset(torch.randn(5, 4), torch.tensor([0, 0, 1, 1, -1]))
    assert not head.warmup
    assert head.cluster_memory.features.shape == (2, 4)
    losses = head.loss(F.normalize(torch.randn(2, 4), dim=1), _samples([1, 3]))
    assert set(losses) == {'loss_cluster', 'loss_instance'}
    # A checkpoint holds the same entries as before any reset.
    assert set(head.state_dict()) == keys
