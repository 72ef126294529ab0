# Copyright (c) jclreid contributors. All rights reserved.
import torch
import torch.nn.functional as F


def compute_distance(query: torch.Tensor,
                     gallery: torch.Tensor,
                     metric: str = 'cosine',
                     chunk_size: int = 4096) -> torch.Tensor:
    """Distance matrix between two sets of features.

    Args:
        query (Tensor): (M, D) features.
        gallery (Tensor): (N, D) features.
        metric (str): ``'cosine'`` (``1 - cos``, features normalised here)
            or ``'euclidean'`` (squared euclidean). Defaults to
            ``'cosine'``.
        chunk_size (int): Query rows computed at once. Defaults to 4096.

    Returns:
        Tensor: (M, N) distances on the device of ``query``.
    """
    if metric not in ('cosine', 'euclidean'):
        raise ValueError("metric must be 'cosine' or 'euclidean', got "
                         f'{metric!r}')
    query, gallery = query.float(), gallery.float().to(query.device)
    if metric == 'cosine':
        query, gallery = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
    out = []
    g_sq = (gallery**2).sum(1)
    for start in range(0, query.shape[0], chunk_size):
        q = query[start:start + chunk_size]
        if metric == 'cosine':
            out.append(1 - q @ gallery.t())
        else:
            d = (q**2).sum(1, keepdim=True) + g_sq[None] - 2 * q @ gallery.t()
            out.append(d.clamp_(min=0))
    return torch.cat(out) if out else query.new_zeros((0, gallery.shape[0]))
