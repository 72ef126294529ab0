# Copyright (c) jclreid contributors. All rights reserved.
from collections import Counter

import numpy as np
import pytest
import torch

from jclreid.evaluation import leave_one_out_knn, leave_one_out_map


def cosine_similarity(feats):
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    return unit @ unit.T


def brute_force_map(feats, labels):
    sim = cosine_similarity(feats)
    aps = []
    for i in range(len(labels)):
        others = sorted((j for j in range(len(labels)) if j != i),
                        key=lambda j: -sim[i, j])
        hits = [labels[j] == labels[i] for j in others]
        if not any(hits):
            continue
        found, precisions = 0, []
        for rank, hit in enumerate(hits, 1):
            if hit:
                found += 1
                precisions.append(found / rank)
        aps.append(np.mean(precisions))
    return np.mean(aps)


def brute_force_knn(feats, labels, k):
    sim = cosine_similarity(feats)
    correct = 0
    for i in range(len(labels)):
        others = sorted((j for j in range(len(labels)) if j != i),
                        key=lambda j: -sim[i, j])[:k]
        votes = Counter(labels[j] for j in others)
        top = max(votes.values())
        pred = next(labels[j] for j in others if votes[labels[j]] == top)
        correct += pred == labels[i]
    return correct / len(labels)


@pytest.mark.parametrize('seed', [0, 1])
def test_against_brute_force(seed):
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 4, 30)
    labels[0] = 9  # a class with one sample: skipped by mAP
    feats = rng.randn(4, 6)[labels % 4] + rng.randn(30, 6)
    assert leave_one_out_map(torch.from_numpy(feats), labels) == \
        pytest.approx(brute_force_map(feats, labels), abs=1e-6)
    for k in (1, 4, 5):
        assert leave_one_out_knn(feats, labels, k) == pytest.approx(
            brute_force_knn(feats, labels, k))


def test_knn_tie_goes_to_nearest_and_errors():
    # Sample 0's neighbours: 1 (label 1) nearest, then 2 (label 2): a 1-1
    # tie resolved by the nearest, which is right.
    feats = np.array([[1, 0], [1, 0.1], [1, -0.3], [-1, 0.05], [-1, -0.05]])
    labels = np.array([1, 1, 2, 2, 2])
    assert leave_one_out_knn(feats, labels, k=2) == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match='k must be'):
        leave_one_out_knn(feats, labels, k=0)
    with pytest.raises(ValueError, match='single sample'):
        leave_one_out_map(feats[:3], [0, 1, 2])
