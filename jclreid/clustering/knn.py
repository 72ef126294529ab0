# Copyright (c) jclreid contributors. All rights reserved.
"""k-nearest-neighbour search by inner product of L2-normalised features
(cosine similarity): exact (faiss or torch) or approximate (faiss IVF-Flat
or HNSW)."""
import warnings
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from jclreid.utils.array import to_numpy

try:
    import faiss
except ImportError:  # pragma: no cover - faiss is a runtime requirement
    faiss = None

BACKENDS = ('auto', 'faiss', 'torch')
#: ``'exact'``: brute force; ``'ivf'``: faiss IVF-Flat (inverted lists
#: over k-means cells); ``'hnsw'``: faiss HNSW graph.
INDEXES = ('exact', 'ivf', 'hnsw')

#: Rows normalised at once (bounds the temporaries).
_CHUNK = 8192


def unit_rows(features: Union[np.ndarray, torch.Tensor],
              copy: bool = True) -> np.ndarray:
    """L2-normalised rows as a C-contiguous float32 array.

    Returns ``features`` itself, without a copy, when it already is one
    (every squared norm within 1e-5 of 1); otherwise the rows divided by
    their norms, computed in row chunks, into a new array or, with
    ``copy=False`` and a C-contiguous float32 array, in place. A zero row
    stays zero.

    Args:
        features (ndarray | Tensor): (N, D) features.
        copy (bool): Leave ``features`` unchanged. Defaults to True.

    Returns:
        ndarray: (N, D) float32 unit rows.
    """
    feats = to_numpy(features)
    if feats.ndim != 2:
        raise ValueError('features must be a 2-D (N, D) array, got shape '
                         f'{feats.shape}')
    blas_ready = feats.dtype == np.float32 and feats.flags.c_contiguous
    if blas_ready and all(
            np.abs(np.einsum('ij,ij->i', feats[lo:lo + _CHUNK],
                             feats[lo:lo + _CHUNK]) - 1).max(initial=0) <
            1e-5 for lo in range(0, feats.shape[0], _CHUNK)):
        return feats
    out = feats if blas_ready and not copy and feats.flags.writeable else \
        np.empty(feats.shape, dtype=np.float32)
    for lo in range(0, feats.shape[0], _CHUNK):
        chunk = np.asarray(feats[lo:lo + _CHUNK], dtype=np.float32)
        norm = np.sqrt(np.einsum('ij,ij->i', chunk, chunk))
        np.divide(chunk, np.maximum(norm, 1e-12)[:, None],
                  out=out[lo:lo + _CHUNK])
    return out


def row_norms(feats: np.ndarray) -> np.ndarray:
    """``np.maximum(np.linalg.norm(feats, axis=1), 1e-12)``, computed in
    row chunks (no (N, D) temporary; the same bits)."""
    return np.concatenate([
        np.maximum(np.linalg.norm(feats[lo:lo + _CHUNK], axis=1), 1e-12)
        for lo in range(0, feats.shape[0], _CHUNK)
    ]) if feats.shape[0] else np.zeros(0, dtype=feats.dtype)


def pair_dot(feats: np.ndarray,
             rows: np.ndarray,
             cols: np.ndarray,
             norms: Optional[np.ndarray] = None,
             chunk_size: int = 256) -> np.ndarray:
    """Dot products ``feats[rows[p]] . feats[cols[p]]`` for every pair
    ``p``, in chunks small enough to stay in cache.

    Args:
        feats (ndarray): (N, D) float32 features.
        rows (ndarray): (P, ) int.
        cols (ndarray): (P, ) int.
        norms (ndarray, optional): (N, ) divide each row by its entry
            first: the same bits as on ``feats / norms[:, None]``, without
            that copy. Defaults to None.
        chunk_size (int): Pairs at once. Defaults to 256.

    Returns:
        ndarray: (P, ) float32.
    """
    out = np.empty(rows.size, dtype=np.float32)
    for start in range(0, rows.size, chunk_size):
        r = rows[start:start + chunk_size]
        c = cols[start:start + chunk_size]
        a, b = feats[r], feats[c]
        if norms is not None:
            a /= norms[r, None]
            b /= norms[c, None]
        out[start:start + r.size] = np.einsum('ij,ij->i', a, b)
    return out


def _as_tensor(features: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    if isinstance(features, np.ndarray):
        features = torch.from_numpy(features)
    if features.dim() != 2:
        raise ValueError('features must be a 2-D (N, D) array, got shape '
                         f'{tuple(features.shape)}')
    return features


def _normalised(features: torch.Tensor) -> np.ndarray:
    """``F.normalize`` of (a chunk of) the features as a C-contiguous
    float32 CPU array: the same bits whatever the chunking."""
    return np.ascontiguousarray(
        F.normalize(features.float(), dim=1).cpu().numpy(), dtype=np.float32)


def _faiss_exact(feats: np.ndarray,
                 k: int,
                 queries: Optional[np.ndarray] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Brute-force search of ``queries`` (default: all) among ``feats``;
    on the GPU when faiss-gpu and CUDA are present, else without building
    an index (no copy of the features)."""
    queries = feats if queries is None else queries
    if torch.cuda.is_available() and hasattr(faiss, 'StandardGpuResources') \
            and faiss.get_num_gpus() > 0:
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0,
                                       faiss.IndexFlatIP(feats.shape[1]))
        index.add(feats)
        return index.search(queries, k)
    return faiss.knn(queries, feats, k, metric=faiss.METRIC_INNER_PRODUCT)


def _faiss_approximate(features: torch.Tensor, k: int, index: str,
                       nlist: Optional[int], nprobe: Optional[int],
                       hnsw_m: int, ef_search: Optional[int],
                       ef_construction: int
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """IVF-Flat or HNSW search of every feature among all. Features are
    normalised a chunk at a time (the index holds the one copy); rows the
    index returned fewer than ``k`` neighbours for are searched
    exhaustively."""
    n, dim = features.shape
    if index == 'ivf':
        nlist = nlist or int(np.clip(4 * np.sqrt(n), 1, max(1, n // 40)))
        ann = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist,
                                 faiss.METRIC_INNER_PRODUCT)
        # k-means, 10 iterations, on a sample of 40 points per cell.
        sample = np.random.default_rng(0).choice(
            n, min(n, 40 * nlist), replace=False)
        ann.cp.niter, ann.cp.seed = 10, 1234
        ann.train(_normalised(features[torch.from_numpy(np.sort(sample))]))
        ann.nprobe = min(nlist, nprobe or 16)
    else:
        ann = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efConstruction = ef_construction
        ann.hnsw.efSearch = max(k, ef_search or 2 * k)
    for lo in range(0, n, _CHUNK):
        ann.add(_normalised(features[lo:lo + _CHUNK]))
    sims = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        sims[lo:lo + _CHUNK], idx[lo:lo + _CHUNK] = ann.search(
            _normalised(features[lo:lo + _CHUNK]), k)
    del ann
    short = np.flatnonzero((idx < 0).any(axis=1))
    if short.size:  # exhaustive search, the features a chunk at a time
        queries = _normalised(features[torch.from_numpy(short)])
        heap = faiss.ResultHeap(short.size, k, keep_max=True)
        for lo in range(0, n, _CHUNK):
            chunk = _normalised(features[lo:lo + _CHUNK])
            d, i = faiss.knn(queries, chunk, min(k, len(chunk)),
                             metric=faiss.METRIC_INNER_PRODUCT)
            heap.add_result(d, i + lo)
        heap.finalize()
        sims[short], idx[short] = heap.D, heap.I
    return sims, idx


def _torch_search(feats: torch.Tensor, k: int,
                  chunk_size: int = 2048) -> Tuple[np.ndarray, np.ndarray]:
    sims, idx = [], []
    for start in range(0, feats.shape[0], chunk_size):
        s, i = (feats[start:start + chunk_size] @ feats.t()).topk(k, dim=1)
        sims.append(s.cpu())
        idx.append(i.cpu())
    return torch.cat(sims).numpy(), torch.cat(idx).numpy()


def knn_settings(knn: Union[str, dict]) -> dict:
    """The :func:`knn_search` keyword arguments of a ``knn`` setting.

    Args:
        knn (str | dict): An index name from :data:`INDEXES` or a dict with
            ``index`` and the index's settings (``nlist``, ``nprobe``,
            ``hnsw_m``, ``ef_search``, ``ef_construction``), e.g.
            ``dict(index='ivf', nprobe=64)``.

    Returns:
        dict: Keyword arguments for :func:`knn_search`.

    Raises:
        ValueError: An unknown index or setting, named in the message.
    """
    kwargs = dict(index=knn) if isinstance(knn, str) else dict(knn)
    if kwargs.get('index', 'exact') not in INDEXES:
        raise ValueError(f'knn index must be one of {INDEXES}, got '
                         f'{kwargs["index"]!r}')
    unknown = set(kwargs) - {'index', 'nlist', 'nprobe', 'hnsw_m',
                             'ef_search', 'ef_construction'}
    if unknown:
        raise ValueError(f'unknown knn settings {sorted(unknown)}')
    return kwargs


def knn_search(features: Union[np.ndarray, torch.Tensor],
               k: int,
               backend: str = 'auto',
               index: str = 'exact',
               nlist: Optional[int] = None,
               nprobe: Optional[int] = None,
               hnsw_m: int = 32,
               ef_search: Optional[int] = None,
               ef_construction: int = 120
               ) -> Tuple[np.ndarray, np.ndarray]:
    """kNN of every feature among all features (cosine similarity).

    Features are L2-normalised here (``F.normalize``: one normalised copy
    for an exact search; approximate indexes normalise a chunk at a time
    and hold one copy in the index). With ``index='exact'`` each point's
    first neighbour is itself (barring exact duplicates); an approximate
    index may miss it or other true neighbours (callers that need the
    point first must put it there, see :func:`self_first`).

    Args:
        features (ndarray | Tensor): (N, D) features.
        k (int): Neighbours per point (clipped to N).
        backend (str): Exact search: ``'faiss'`` (brute force; on the GPU
            when faiss-gpu and CUDA are present), ``'torch'`` (chunked
            matmul on the features' device) or ``'auto'`` (faiss when
            installed). Defaults to ``'auto'``.
        index (str): ``'exact'``, or a faiss approximate index:
            ``'ivf'`` (IVF-Flat: k-means cells, ``nprobe`` of them
            scanned per query) or ``'hnsw'`` (HNSW graph). Both keep a
            copy of the features, and pay off only on large sets (see
            docs/en/benchmarks.md). Defaults to ``'exact'``.
        nlist (int, optional): IVF cells, trained by 10 k-means
            iterations on 40 points per cell. Defaults to ``4 sqrt(N)``
            (at most ``N / 40``).
        nprobe (int, optional): IVF cells scanned per query. Defaults to
            16.
        hnsw_m (int): HNSW links per node. Defaults to 32.
        ef_search (int, optional): HNSW search breadth. Defaults to
            ``2 k``.
        ef_construction (int): HNSW construction breadth. Defaults to
            120.

    Returns:
        tuple[ndarray, ndarray]: similarities (N, k) float32, descending,
        and indices (N, k) int64.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got '
                         f'{backend!r}')
    if index not in INDEXES:
        raise ValueError(f'index must be one of {INDEXES}, got {index!r}')
    if (backend == 'faiss' or index != 'exact') and faiss is None:
        raise ImportError(f"backend='faiss' and index={index!r} need faiss: "
                          'pip install faiss-cpu (or faiss-gpu)')
    if index != 'exact' and backend == 'torch':
        raise ValueError(f"index={index!r} is a faiss index: use "
                         "backend='auto' or 'faiss'")
    if backend == 'auto' and faiss is None:
        warnings.warn('faiss is not installed: kNN falls back to torch')
    features = _as_tensor(features)
    k = min(int(k), features.shape[0])
    if backend == 'torch' or faiss is None:
        sims, idx = _torch_search(F.normalize(features.float(), dim=1), k)
    elif index == 'exact':
        sims, idx = _faiss_exact(_normalised(features), k)
    else:
        sims, idx = _faiss_approximate(features, k, index, nlist, nprobe,
                                       hnsw_m, ef_search, ef_construction)
    return sims.astype(np.float32), idx.astype(np.int64)


def self_first(sims: np.ndarray,
               idx: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Rank lists that start with the point itself.

    Rows of :func:`knn_search` whose first entry is not the point (exact
    duplicates, approximate search) get it first, the other entries
    shifted in their order and the last dropped when the point was
    missing; its similarity there is the one found later in the row, or
    NaN (unknown) when it was missing. Vectorised over those rows.

    Args:
        sims (ndarray): (N, k) similarities.
        idx (ndarray): (N, k) int indices.

    Returns:
        tuple[ndarray, ndarray]: the fixed copies (float32 and int64).
    """
    sims = np.array(sims, dtype=np.float32)
    idx = np.array(idx, dtype=np.int64)
    n, k = idx.shape
    bad = np.flatnonzero(idx[:, 0] != np.arange(n))
    if bad.size:
        own = idx[bad] == bad[:, None]
        own_sim = np.where(own.any(axis=1),
                           np.where(own, sims[bad], -np.inf).max(axis=1),
                           np.nan)  # the point's own similarity, if found
        cand = np.concatenate([bad[:, None], idx[bad]], axis=1)
        vals = np.concatenate([own_sim[:, None], sims[bad]], axis=1)
        pos = np.arange(k + 1)
        # The point's own later occurrence goes last (dropped), after the
        # others in their order.
        key = np.where((cand == bad[:, None]) & (pos > 0), 2 * k + 2, pos)
        order = np.argsort(key, axis=1, kind='stable')[:, :k]
        idx[bad] = np.take_along_axis(cand, order, axis=1)
        sims[bad] = np.take_along_axis(vals, order, axis=1)
    return sims, idx
