# Copyright (c) jclreid contributors. All rights reserved.
"""Sparse k-reciprocal Jaccard distance (Zhong et al., CVPR 2017), the
distance JCL clusters with."""
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp
import torch

from jclreid.registry import CLUSTERERS
from .base import BaseDistance
from .k_reciprocal import (NEIGHBOURHOODS, check_neighbourhood,
                           jaccard_sparse, k_reciprocal_encoding,
                           neighbourhood_sizes)
from .knn import (knn_search, knn_settings, pair_dot, row_norms,
                  self_first)

__all__ = ['NEIGHBOURHOODS', 'jaccard_distance', 'JaccardDistance']

#: Largest feature array (bytes) of which :func:`jaccard_distance` keeps a
#: normalised copy for the weights (faster than normalising each gathered
#: row; larger sets do that, without the copy).
_COPY_LIMIT = 1 << 30


def jaccard_distance(features: Union[np.ndarray, torch.Tensor],
                     k1: int = 30,
                     k2: int = 6,
                     backend: str = 'auto',
                     max_distance: Optional[float] = None,
                     neighbourhood: str = 'zhong',
                     knn: Union[str, dict] = 'exact') -> sp.csr_matrix:
    """Sparse k-reciprocal Jaccard distance between all pairs of features.

    The k-reciprocal encoding and Jaccard distance of
    :mod:`jclreid.clustering.k_reciprocal` (the same code as the
    evaluation re-ranking, with its one expansion rule: a half set joins
    when it overlaps the main set by *more than* 2/3), with the clustering
    choices: rank lists from a kNN search (itself first; exact with
    faiss by default, ``knn`` selects an approximate faiss index);
    weights ``exp(-d)`` of ``d = 2 - 2 cos`` of the L2-normalised features,
    normalised per row (``softmax(-d)`` over the expanded set; re-ranking
    instead uses squared distances divided by their row maximum); local
    query expansion over the first ``k2`` rank-list entries (itself
    included); ``d_J(i, j) = 1 - s / (2 - s)`` with
    ``s = sum_k min(V_ik, V_jk)``, computed only for pairs that share a
    non-zero column (an inverted index) and returned sparse, without the
    pairs above ``max_distance``. Memory is O(N * k1) for the encoding and
    O(number of pairs within two reciprocal hops) for the output, never
    N x N.

    The two ``neighbourhood`` conventions differ only in how many
    rank-list entries (``self`` included) make a reciprocal set
    (:func:`~jclreid.clustering.k_reciprocal.neighbourhood_sizes`);
    ``h = round(k1 / 2)`` with ``np.around`` (half to even: 7/2 -> 4,
    5/2 -> 2), every size clipped to ``N``:

    - ``'zhong'`` (default): Zhong et al.'s re-ranking code
      (``re_ranking`` of CVPR 2017): self + ``k1`` neighbours, i.e. the
      forward and backward sets are the first ``k1 + 1`` entries of the
      rank lists and the half sets the first ``h + 1`` entries.
    - ``'cluster_contrast'``: Cluster Contrast's ``compute_jaccard_distance``
      (and SpCL's, which it inherits), whose kNN search returns only ``k1``
      entries including self: the forward and backward sets are the first
      ``k1`` entries (self + ``k1 - 1`` neighbours) while the half sets
      still take the first ``h + 1`` entries, and query expansion uses the
      first ``min(k2, k1)`` entries.

    The same ``k1`` thus gives a slightly smaller neighbourhood under
    ``'cluster_contrast'``, and distances, hence the right DBSCAN ``eps``,
    shift: an ``eps`` tuned for one convention (Cluster Contrast's 0.6
    was tuned on ``'cluster_contrast'``) is not exact for the other.
    ``'zhong'`` with ``k1 - 1`` is *not* equivalent in general: its half
    sets have ``round((k1 - 1) / 2) + 1`` entries, which equals ``h + 1``
    only when ``k1 % 4`` is 0 or 1 (not for the default ``k1=30``).

    Args:
        features (ndarray | Tensor): (N, D) features.
        k1 (int): Size of the reciprocal neighbourhood, counted as
            ``neighbourhood`` says. Defaults to 30.
        k2 (int): Query-expansion neighbours, self included (1 disables
            it). Defaults to 6.
        backend (str): kNN backend, see :func:`knn_search`.
        max_distance (float, optional): Drop pairs farther than this
            (e.g. DBSCAN's ``eps``) to save memory. Defaults to None (keep
            every pair with distance < 1).
        neighbourhood (str): ``'zhong'`` (self + ``k1`` neighbours) or
            ``'cluster_contrast'`` (``k1`` entries including self), see
            above. Defaults to ``'zhong'``.
        knn (str | dict): The neighbour search: an ``index`` of
            :func:`~jclreid.clustering.knn.knn_search` (``'exact'``,
            ``'ivf'``, ``'hnsw'``), or a dict of its keyword arguments,
            e.g. ``dict(index='ivf', nprobe=32)``. Approximate indexes
            trade recall of the rank lists (hence some labels) for time
            on large sets. Defaults to ``'exact'``.

    Returns:
        scipy.sparse.csr_matrix: (N, N) distances. An absent entry means
        distance 1; stored entries may be exactly 0 (a point and itself,
        identical neighbourhoods) and are kept explicitly, so scikit-learn's
        DBSCAN on ``metric='precomputed'`` sees them as neighbours.
    """
    check_neighbourhood(neighbourhood)
    if k1 < 1 or k2 < 1:
        raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
    n = features.shape[0]
    main, half, qe_size = neighbourhood_sizes(k1, k2, n, neighbourhood)
    k_search = max(main, half, qe_size)
    knn_kwargs = knn_settings(knn)
    # Each point must be its own first neighbour, even with duplicates.
    _, rank = self_first(*knn_search(features, k_search, backend=backend,
                                     **knn_kwargs))
    feats = features.detach().cpu().float().numpy() if isinstance(
        features, torch.Tensor) else np.asarray(features, dtype=np.float32)
    norms = row_norms(feats)
    # The normalised copy when it is small; otherwise rows are divided as
    # they are gathered (the same bits, slower).
    unit = feats / norms[:, None] if feats.nbytes <= _COPY_LIMIT else None

    def pair_distance(rows, cols):  # d = 2 - 2 cos (float32)
        if unit is not None:
            return 2 - 2 * pair_dot(unit, rows, cols)
        return 2 - 2 * pair_dot(feats, rows, cols, norms)

    enc = k_reciprocal_encoding(rank, pair_distance, main, half, qe_size)
    unit = None  # free the copy before the Jaccard step
    return jaccard_sparse(enc, max_distance)


@CLUSTERERS.register_module()
class JaccardDistance(BaseDistance):
    """Callable config wrapper of :func:`jaccard_distance`.

    Args:
        k1 (int): Defaults to 30.
        k2 (int): Defaults to 6.
        backend (str): kNN backend. Defaults to ``'auto'``.
        neighbourhood (str): How ``k1`` counts the reciprocal sets:
            ``'zhong'`` (self + ``k1`` neighbours, Zhong et al.'s
            re-ranking code) or ``'cluster_contrast'`` (``k1`` rank-list
            entries including self, Cluster Contrast's code, on which its
            ``eps=0.6`` was tuned); see :func:`jaccard_distance`. An
            ``eps`` tuned for one is not exact for the other.
            Defaults to ``'zhong'``.
        knn (str | dict): The neighbour search, ``'exact'``, ``'ivf'``,
            ``'hnsw'`` or a dict of
            :func:`~jclreid.clustering.knn.knn_search` keyword arguments
            (e.g. ``dict(index='ivf', nprobe=32)``); see
            :func:`jaccard_distance`. Defaults to ``'exact'``.
    """

    _repr_fields = ('k1', 'k2', 'backend', 'neighbourhood', 'knn')

    def __init__(self,
                 k1: int = 30,
                 k2: int = 6,
                 backend: str = 'auto',
                 neighbourhood: str = 'zhong',
                 knn: Union[str, dict] = 'exact') -> None:
        check_neighbourhood(neighbourhood)
        knn_settings(knn)
        self.k1, self.k2, self.backend = k1, k2, backend
        self.neighbourhood = neighbourhood
        self.knn = knn

    def __call__(self,
                 features: Union[np.ndarray, torch.Tensor],
                 max_distance: Optional[float] = None) -> sp.csr_matrix:
        """See :func:`jaccard_distance`.

        Args:
            features (ndarray | Tensor): (N, D) features.
            max_distance (float, optional): Drop pairs farther than this.
                Defaults to None.

        Returns:
            scipy.sparse.csr_matrix: (N, N) distances.
        """
        return jaccard_distance(
            features, self.k1, self.k2, self.backend,
            max_distance=max_distance, neighbourhood=self.neighbourhood,
            knn=self.knn)
