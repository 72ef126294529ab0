# Copyright (c) jclreid contributors. All rights reserved.
import numpy as np
import scipy.sparse as sp
from sklearn.cluster import DBSCAN

from jclreid.registry import CLUSTERERS
from .base import BaseClusterer, DistanceMatrix


@CLUSTERERS.register_module()
class DBSCANClusterer(BaseClusterer):
    """DBSCAN on a precomputed (sparse) distance matrix.

    Args:
        eps (float): Neighbourhood radius. Defaults to 0.6.
        min_samples (int): Core-point neighbourhood size (itself
            included). Defaults to 4.
        n_jobs (int): Parallel jobs of scikit-learn. Defaults to 1.

    Call:
        ``clusterer(dist)`` with ``dist`` a (N, N) scipy sparse matrix (an
        absent entry is "not a neighbour") or a dense array, returns
        (N, ) int64 labels, ``-1`` for outliers. :attr:`max_distance` is
        ``eps``: no larger distance changes the result, so the distance
        may leave such entries out.
    """

    _repr_fields = ('eps', 'min_samples')

    def __init__(self,
                 eps: float = 0.6,
                 min_samples: int = 4,
                 n_jobs: int = 1) -> None:
        if eps <= 0:
            raise ValueError(f'DBSCANClusterer.eps must be > 0, got {eps}')
        if min_samples < 1:
            raise ValueError('DBSCANClusterer.min_samples must be >= 1, got '
                             f'{min_samples}')
        self.eps = eps
        self.min_samples = min_samples
        self.n_jobs = n_jobs

    @property
    def max_distance(self) -> float:
        """``eps``: DBSCAN compares no larger distance."""
        return self.eps

    def __call__(self, dist: DistanceMatrix) -> np.ndarray:
        if sp.issparse(dist):
            dist = dist.tocsr(copy=True)
        labels = DBSCAN(
            eps=self.eps,
            min_samples=self.min_samples,
            metric='precomputed',
            n_jobs=self.n_jobs).fit_predict(dist)
        return labels.astype(np.int64)
