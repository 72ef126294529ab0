# Copyright (c) jclreid contributors. All rights reserved.
import itertools

import numpy as np
import pytest

from jclreid.evaluation import (ari, cluster_accuracy, nmi,
                                pairwise_precision_recall)


def test_permuted_labels_are_perfect():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([5, 5, 3, 3, 9, 9])
    assert cluster_accuracy(y, pred) == 1.0
    assert nmi(y, pred) == pytest.approx(1.0)
    assert ari(y, pred) == pytest.approx(1.0)
    assert cluster_accuracy(y, [0, 0, 0, 0, 0, 0]) == pytest.approx(2 / 6)


@pytest.mark.parametrize('seed', [0, 1])
def test_pairwise_against_all_pairs(seed):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 5, 40)
    pred = rng.randint(-1, 4, 40)
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(40), 2):
        same_pred = pred[i] == pred[j] and pred[i] != -1
        same_true = y[i] == y[j]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    p, r, f = pairwise_precision_recall(y, pred)
    assert p == pytest.approx(tp / (tp + fp))
    assert r == pytest.approx(tp / (tp + fn))
    assert f == pytest.approx(2 * p * r / (p + r))
