# Copyright (c) jclreid contributors. All rights reserved.
"""Distance matrices between two sets of features, computed in chunks."""
import numpy as np
import torch
import torch.nn.functional as F

from jclreid.utils.array import ArrayLike

DISTANCE_METRICS = ('cosine', 'euclidean')


def _as_features(x: ArrayLike, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f'{name} must be a 2-D (num, dim) tensor or array, '
                         f'got {type(x).__name__} of shape '
                         f'{tuple(getattr(x, "shape", ()))}')
    return x.float()


def _check(x: torch.Tensor, y: torch.Tensor, chunk_size: int) -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError('features must have the same dimension, got '
                         f'{x.shape[1]} and {y.shape[1]}')
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')


def cosine_distance(x: ArrayLike,
                    y: ArrayLike,
                    chunk_size: int = 4096) -> torch.Tensor:
    """Cosine distance ``1 - cos(x_i, y_j)``, in [0, 2].

    Features are L2-normalised here (a zero vector is at distance 1 from
    everything).

    Args:
        x (Tensor | ndarray): (M, D) features.
        y (Tensor | ndarray): (N, D) features.
        chunk_size (int): Rows of ``x`` computed at once. Defaults to 4096.

    Returns:
        Tensor: (M, N) float32 distances on the device of ``x``.
    """
    x, y = _as_features(x, 'x'), _as_features(y, 'y')
    _check(x, y, chunk_size)
    x, y = F.normalize(x, dim=1), F.normalize(y.to(x.device), dim=1)
    out = x.new_empty((x.shape[0], y.shape[0]))
    for start in range(0, x.shape[0], chunk_size):
        chunk = out[start:start + chunk_size]
        torch.mm(x[start:start + chunk_size], y.t(), out=chunk)
        chunk.neg_().add_(1).clamp_(0, 2)
    return out


def euclidean_distance(x: ArrayLike,
                       y: ArrayLike,
                       squared: bool = True,
                       chunk_size: int = 4096) -> torch.Tensor:
    """(Squared) euclidean distance ``||x_i - y_j||^2``.

    Computed as ``|x|^2 + |y|^2 - 2 x.y`` and clamped at 0. The squared
    distance ranks like the plain one and is what k-reciprocal re-ranking
    expects (the paper's Mahalanobis form).

    Args:
        x (Tensor | ndarray): (M, D) features.
        y (Tensor | ndarray): (N, D) features.
        squared (bool): Return squared distances. Defaults to True.
        chunk_size (int): Rows of ``x`` computed at once. Defaults to 4096.

    Returns:
        Tensor: (M, N) float32 distances on the device of ``x``.
    """
    x, y = _as_features(x, 'x'), _as_features(y, 'y')
    _check(x, y, chunk_size)
    y = y.to(x.device)
    y_sq = (y * y).sum(1)
    out = x.new_empty((x.shape[0], y.shape[0]))
    for start in range(0, x.shape[0], chunk_size):
        xc = x[start:start + chunk_size]
        chunk = out[start:start + chunk_size]
        torch.addmm(y_sq[None], xc, y.t(), beta=1, alpha=-2, out=chunk)
        chunk.add_((xc * xc).sum(1, keepdim=True)).clamp_(min=0)
        if not squared:
            chunk.sqrt_()
    return out


def compute_distance(x: ArrayLike,
                     y: ArrayLike,
                     metric: str = 'cosine',
                     chunk_size: int = 4096) -> torch.Tensor:
    """Distance matrix between two sets of features.

    Args:
        x (Tensor | ndarray): (M, D) features, e.g. queries.
        y (Tensor | ndarray): (N, D) features, e.g. the gallery.
        metric (str): ``'cosine'`` (``1 - cos``, see
            :func:`cosine_distance`) or ``'euclidean'`` (squared, see
            :func:`euclidean_distance`). Defaults to ``'cosine'``.
        chunk_size (int): Rows of ``x`` computed at once. Defaults to 4096.

    Returns:
        Tensor: (M, N) float32 distances on the device of ``x``.
    """
    if metric == 'cosine':
        return cosine_distance(x, y, chunk_size=chunk_size)
    if metric == 'euclidean':
        return euclidean_distance(x, y, squared=True, chunk_size=chunk_size)
    raise ValueError(f'metric must be one of {DISTANCE_METRICS}, got '
                     f'{metric!r}')
