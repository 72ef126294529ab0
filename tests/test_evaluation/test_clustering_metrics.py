# Copyright (c) jclreid contributors. All rights reserved.
import itertools

import numpy as np
import pytest
import torch

from jclreid.evaluation import (ari, cluster_accuracy, clustering_agreement,
                                nmi, outliers_as_singletons,
                                pairwise_precision_recall)


def test_permuted_labels_are_perfect():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([5, 5, -1, -1, 9, 9])
    assert cluster_accuracy(y, pred) == 1.0
    assert nmi(y, pred) == pytest.approx(1.0)
    assert ari(y, pred) == pytest.approx(1.0)
    assert pairwise_precision_recall(y, [5, 5, 3, 3, 9, 9]) == (1.0, 1.0, 1.0)


def test_cluster_accuracy_hand_cases():
    y = [0, 0, 0, 1, 1, 2]
    # One cluster: it is matched to class 0 only.
    assert cluster_accuracy(y, [7] * 6) == pytest.approx(3 / 6)
    # Clusters {0,1}, {2,3}, {4,5}: the best one-to-one map 0->0, 1->1,
    # 2->2 scores 2 + 1 + 1.
    assert cluster_accuracy(y, [0, 0, 1, 1, 2, 2]) == pytest.approx(4 / 6)
    # Two clusters both mostly class 0: only one of them may map to it
    # (a many-to-one majority vote would score 5 / 6).
    assert cluster_accuracy([0, 0, 0, 0, 1, 2],
                            [0, 0, 1, 1, 1, 2]) == pytest.approx(4 / 6)
    # More clusters than classes: the extra cluster counts as wrong.
    assert cluster_accuracy(torch.tensor(y),
                            torch.tensor([3, 3, 4, 1, 1, 2])) == \
        pytest.approx(5 / 6)
    with pytest.raises(ValueError, match='same length'):
        cluster_accuracy([0, 1], [0])


def brute_force_pairs(y, pred, ignore_label):
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(y)), 2):
        same_pred = pred[i] == pred[j] and (ignore_label is None
                                            or pred[i] != ignore_label)
        same_true = y[i] == y[j]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('ignore_label', [-1, None])
def test_pairwise_against_all_pairs(seed, ignore_label):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 6, 60)
    pred = np.where(rng.rand(60) < 0.7, y, rng.randint(-1, 5, 60))
    got = pairwise_precision_recall(y, pred, ignore_label=ignore_label)
    expected = brute_force_pairs(y.tolist(), pred.tolist(), ignore_label)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert 0 < got[0] < 1 and 0 < got[1] < 1


def test_pairwise_hand_case_and_degenerate():
    y = [0, 0, 0, 1, 1]
    # Predicted pairs: (0,1) TP, (2,3) FP; sample 4 an outlier.
    # True pairs: (0,1), (0,2), (1,2), (3,4).
    p, r, f = pairwise_precision_recall(y, [0, 0, 1, 1, -1])
    assert (p, r) == (0.5, 0.25)
    assert f == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    # Everything an outlier: no predicted pair.
    assert pairwise_precision_recall(y, [-1] * 5) == (0.0, 0.0, 0.0)


def test_outliers_as_singletons():
    labels = np.array([1, -1, 0, -1, 1])
    out = outliers_as_singletons(labels)
    assert out.tolist() == [1, 2, 0, 3, 1]
    assert labels.tolist() == [1, -1, 0, -1, 1]  # not modified
    assert outliers_as_singletons(torch.tensor([-1, -1])).tolist() == [0, 1]
    assert outliers_as_singletons([3, 9, 3], ignore_label=9).tolist() == [
        3, 4, 3
    ]


def test_clustering_agreement():
    y = np.array([0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, -1, 1, 1, -1, -1])
    agreement = clustering_agreement(y, pred)
    assert list(agreement) == [
        'nmi', 'ari', 'pair_precision', 'pair_recall', 'pair_fscore'
    ]
    singletons = [0, 0, 2, 1, 1, 3, 4]
    assert agreement['nmi'] == nmi(y, singletons)
    assert agreement['ari'] == ari(y, singletons)
    # 2 predicted pairs, both true; 3 + 1 + 1 true pairs.
    assert agreement['pair_precision'] == 1.0
    assert agreement['pair_recall'] == pytest.approx(2 / 5)
    assert agreement['pair_fscore'] == pytest.approx(2 * 0.4 / 1.4)
    assert all(type(v) is float for v in agreement.values())
    perfect = clustering_agreement(y, [4, 4, 4, 0, 0, 7, 7])
    assert perfect == dict(nmi=1.0, ari=1.0, pair_precision=1.0,
                           pair_recall=1.0, pair_fscore=1.0)
