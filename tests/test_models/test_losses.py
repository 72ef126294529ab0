# Copyright (c) jclreid contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from jclreid.models import (ClusterContrastLoss, InstanceContrastLoss,
                            JointContrastLoss)


def _norm(x):
    return F.normalize(x, dim=-1)


def test_cluster_loss_matches_direct():
    torch.manual_seed(0)
    f = _norm(torch.randn(4, 6))
    m = _norm(torch.randn(3, 6))
    y = torch.tensor([0, 2, -1, 1])
    loss = ClusterContrastLoss(temperature=0.1)(f, m, y)
    terms = []
    for i in (0, 1, 3):
        logits = [float(f[i] @ m[c]) / 0.1 for c in range(3)]
        denom = sum(math.exp(v) for v in logits)
        terms.append(-math.log(math.exp(logits[int(y[i])]) / denom))
    assert loss.item() == pytest.approx(sum(terms) / 3, rel=1e-5)
    # All outliers: zero, still differentiable.
    zero = ClusterContrastLoss()(f.requires_grad_(), m, torch.full((4, ), -1))
    zero.backward()
    assert zero.item() == 0


def _instance_direct(f, mem, mem_labels, labels, indices, t, k):
    total = 0.0
    for b in range(f.shape[0]):
        i, y = int(indices[b]), int(labels[b])
        sims = [float(f[b] @ mem[j]) for j in range(mem.shape[0])]
        same = [j for j in range(mem.shape[0])
                if y >= 0 and int(mem_labels[j]) == y and j != i]
        p = min(same, key=lambda j: sims[j]) if same else i
        neg = [j for j in range(mem.shape[0])
               if j != i and (int(mem_labels[j]) != y or mem_labels[j] < 0)]
        neg = sorted(neg, key=lambda j: -sims[j])[:k]
        num = math.exp(sims[p] / t)
        den = num + sum(math.exp(sims[j] / t) for j in neg)
        total += -math.log(num / den)
    return total / f.shape[0]


def _instance_case(dtype=torch.float32):
    torch.manual_seed(1)
    mem = _norm(torch.randn(10, 5, dtype=dtype))
    mem_labels = torch.tensor([0, 0, 0, 1, 1, 2, -1, -1, 3, 1])
    indices = torch.tensor([0, 3, 6, 8])  # 8 is alone in cluster 3
    labels = mem_labels[indices]
    f = _norm(torch.randn(4, 5, dtype=dtype))
    return f, mem, mem_labels, labels, indices


@pytest.mark.parametrize('k_neg', [2, 50])
def test_instance_loss_matches_direct(k_neg):
    f, mem, mem_labels, labels, indices = _instance_case()
    loss = InstanceContrastLoss(temperature=0.5, k_neg=k_neg)(
        f, mem, mem_labels, labels, indices)
    expected = _instance_direct(f, mem, mem_labels, labels, indices, 0.5,
                                k_neg)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_losses_gradcheck():
    f, mem, mem_labels, labels, indices = _instance_case(torch.float64)
    f = f.clone().requires_grad_()
    inst = InstanceContrastLoss(temperature=0.5, k_neg=3)
    assert torch.autograd.gradcheck(
        lambda x: inst(x, mem, mem_labels, labels, indices), (f, ))
    clus = ClusterContrastLoss(temperature=0.5)
    cents = _norm(torch.randn(4, 5, dtype=torch.float64))
    assert torch.autograd.gradcheck(lambda x: clus(x, cents, labels), (f, ))


def test_joint_loss_weights_and_warmup():
    f, mem, mem_labels, labels, indices = _instance_case()
    cents = _norm(torch.randn(4, 5))
    joint = JointContrastLoss(cluster_weight=2.0, instance_weight=0.5)
    out = joint(f, labels, indices, mem, mem_labels, centroids=cents)
    c = ClusterContrastLoss()(f, cents, labels)
    i = InstanceContrastLoss()(f, mem, mem_labels, labels, indices)
    assert out['loss_cluster'].item() == pytest.approx(2 * c.item())
    assert out['loss_instance'].item() == pytest.approx(0.5 * i.item())
    warm = joint(f, labels, indices, mem, mem_labels, centroids=None)
    assert set(warm) == {'loss_instance'}
    assert warm['loss_instance'].item() == pytest.approx(i.item())
