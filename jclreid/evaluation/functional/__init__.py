# Copyright (c) jclreid contributors. All rights reserved.
"""Metric functions. They return fractions in [0, 1]; the metric classes in
:mod:`jclreid.evaluation.metrics` report percentages."""
from .clustering import (ari, cluster_accuracy, clustering_agreement, nmi,
                         outliers_as_singletons, pairwise_precision_recall)
from .distance import compute_distance, cosine_distance, euclidean_distance
from .rank import evaluate_rank
from .rerank import re_ranking, re_ranking_features
from .retrieval import leave_one_out_knn, leave_one_out_map

__all__ = [
    'evaluate_rank', 'compute_distance', 'cosine_distance',
    'euclidean_distance', 're_ranking', 're_ranking_features',
    'cluster_accuracy', 'nmi', 'ari', 'pairwise_precision_recall',
    'outliers_as_singletons', 'clustering_agreement',
    'leave_one_out_map', 'leave_one_out_knn'
]
