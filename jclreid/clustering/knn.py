# Copyright (c) jclreid contributors. All rights reserved.
"""Exact k-nearest-neighbour search by inner product."""
import warnings
from typing import Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

try:
    import faiss
except ImportError:  # pragma: no cover - faiss is a runtime requirement
    faiss = None

BACKENDS = ('auto', 'faiss', 'torch')


def _as_tensor(features: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    if isinstance(features, np.ndarray):
        features = torch.from_numpy(features)
    if features.dim() != 2:
        raise ValueError('features must be a 2-D (N, D) array, got shape '
                         f'{tuple(features.shape)}')
    return features.float()


def _faiss_search(feats: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    dim = feats.shape[1]
    index = faiss.IndexFlatIP(dim)
    if torch.cuda.is_available() and hasattr(faiss, 'StandardGpuResources') \
            and faiss.get_num_gpus() > 0:
        res = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(res, 0, index)
    index.add(feats)
    sims, idx = index.search(feats, k)
    return sims, idx


def _torch_search(feats: torch.Tensor, k: int,
                  chunk_size: int = 2048) -> Tuple[np.ndarray, np.ndarray]:
    sims, idx = [], []
    for start in range(0, feats.shape[0], chunk_size):
        s, i = (feats[start:start + chunk_size] @ feats.t()).topk(k, dim=1)
        sims.append(s.cpu())
        idx.append(i.cpu())
    return torch.cat(sims).numpy(), torch.cat(idx).numpy()


def knn_search(features: Union[np.ndarray, torch.Tensor],
               k: int,
               backend: str = 'auto') -> Tuple[np.ndarray, np.ndarray]:
    """Exact kNN of every feature among all features (cosine similarity).

    Features are L2-normalised here. Each point's first neighbour is itself
    (barring exact duplicates).

    Args:
        features (ndarray | Tensor): (N, D) features.
        k (int): Neighbours per point (clipped to N).
        backend (str): ``'faiss'`` (exact inner-product index; on the GPU
            when faiss-gpu and CUDA are present), ``'torch'`` (chunked
            matmul on the features' device) or ``'auto'`` (faiss when
            installed). Defaults to ``'auto'``.

    Returns:
        tuple[ndarray, ndarray]: similarities (N, k) float32, descending,
        and indices (N, k) int64.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got '
                         f'{backend!r}')
    feats = F.normalize(_as_tensor(features), dim=1)
    k = min(int(k), feats.shape[0])
    if backend == 'faiss' and faiss is None:
        raise ImportError("backend='faiss' needs faiss: pip install "
                          'faiss-cpu (or faiss-gpu)')
    if backend == 'auto' and faiss is None:
        warnings.warn('faiss is not installed: kNN falls back to torch')
    if backend == 'torch' or faiss is None:
        sims, idx = _torch_search(feats, k)
    else:
        sims, idx = _faiss_search(
            np.ascontiguousarray(feats.cpu().numpy(), dtype=np.float32), k)
    return sims.astype(np.float32), idx.astype(np.int64)
