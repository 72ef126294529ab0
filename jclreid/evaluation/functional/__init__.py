# Copyright (c) jclreid contributors. All rights reserved.
from .clustering import ari, cluster_accuracy, nmi, pairwise_precision_recall
from .distance import compute_distance
from .rank import evaluate_rank
from .rerank import re_ranking

__all__ = [
    'evaluate_rank', 'compute_distance', 're_ranking', 'cluster_accuracy',
    'nmi', 'ari', 'pairwise_precision_recall'
]
