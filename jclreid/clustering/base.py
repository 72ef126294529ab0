# Copyright (c) jclreid contributors. All rights reserved.
"""The three contracts of the pseudo-label pipeline.

A :class:`~jclreid.clustering.LabelGenerator` runs
``distance -> clusterer -> filters``. Each stage is a class registered in
``CLUSTERERS`` that subclasses one of these bases (or follows the same call
signature), so that a config can swap any of them:

- :class:`BaseDistance`: ``features (N, D) -> distances (N, N)``, sparse
  or dense. It receives the clusterer's :attr:`BaseClusterer.max_distance`
  and may leave out every entry above it (an absent sparse entry means "not
  a neighbour"), which is how the Jaccard distance stays O(N * k).
- :class:`BaseClusterer`: ``distances -> labels (N, )``, ``-1`` for an
  outlier. :attr:`~BaseClusterer.max_distance` declares the largest
  distance the clusterer ever compares (DBSCAN's ``eps``), or ``None`` when
  it needs every entry.
- :class:`BaseFilter`: ``(labels, camids) -> (labels, info)``: removes
  clusters (their members become ``-1``) and reports
  ``info['num_removed_clusters']``.

``repr`` of a stage is what the training log prints for it (e.g.
``DBSCANClusterer(eps=0.6, min_samples=4)``); the bases give one from the
attributes named in ``_repr_fields``.
"""
from abc import ABCMeta, abstractmethod
from typing import Optional, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch

#: A distance matrix: scipy sparse (absent entry = "farther than
#: ``max_distance``") or a dense (N, N) array.
DistanceMatrix = Union[sp.spmatrix, np.ndarray]


class _Described:
    """``repr`` as ``ClassName(field=value, ...)`` over ``_repr_fields``."""

    _repr_fields: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ', '.join(f'{name}={getattr(self, name)!r}'
                           for name in self._repr_fields)
        return f'{type(self).__name__}({fields})'


class BaseDistance(_Described, metaclass=ABCMeta):
    """Pairwise distances between the features of one refresh."""

    @abstractmethod
    def __call__(self,
                 features: Union[np.ndarray, torch.Tensor],
                 max_distance: Optional[float] = None) -> DistanceMatrix:
        """Distances between all pairs.

        Args:
            features (np.ndarray | torch.Tensor): (N, D) features.
            max_distance (float, optional): Entries above it may be left
                out of a sparse result. None keeps every entry the
                distance computes.

        Returns:
            scipy.sparse.spmatrix | np.ndarray: (N, N) distances.
        """


class BaseClusterer(_Described, metaclass=ABCMeta):
    """Labels from a distance matrix."""

    @property
    def max_distance(self) -> Optional[float]:
        """The largest distance the clusterer compares; the distance may
        drop larger entries. None (the default) asks for all of them."""
        return None

    @abstractmethod
    def __call__(self, dist: DistanceMatrix) -> np.ndarray:
        """Cluster.

        Args:
            dist (scipy.sparse.spmatrix | np.ndarray): (N, N) distances.

        Returns:
            np.ndarray: (N, ) int64 labels, ``-1`` for outliers.
        """


class BaseFilter(_Described, metaclass=ABCMeta):
    """Removes clusters after clustering."""

    @abstractmethod
    def __call__(self, labels: np.ndarray, camids: Optional[np.ndarray]
                 ) -> Tuple[np.ndarray, dict]:
        """Filter.

        Args:
            labels (np.ndarray): (N, ) int64, ``-1`` for outliers.
            camids (np.ndarray, optional): (N, ) camera ids, None when the
                dataset has none.

        Returns:
            tuple: ``(labels, info)``: (N, ) int64 labels, contiguous
            ``0..C-1`` with ``-1`` for outliers, and a dict with
            ``num_removed_clusters`` (int).
        """
