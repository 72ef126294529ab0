# Copyright (c) jclreid contributors. All rights reserved.
"""Grouping features with the training config's label generator."""
import copy
from typing import Callable, Optional, Tuple

import numpy as np

from jclreid.registry import CLUSTERERS, build_if_config
from .cache import _plain


def extraction_pipeline(cfg) -> list:
    """The pipeline the pseudo-label hook extracts training features with:
    ``default_hooks.pseudo_label.pipeline`` when set, else the test (then
    val) dataloader's (see ``PseudoLabelHook.resolve_pipeline``)."""
    from jclreid.engine.hooks.pseudo_label_hook import PseudoLabelHook
    hook = (cfg.get('default_hooks') or {}).get('pseudo_label') or {}
    if hook.get('pipeline') is not None:
        return list(hook['pipeline'])
    return PseudoLabelHook.resolve_pipeline(cfg)


def build_label_generator(cfg, eps: Optional[float] = None,
                          use_camera_filter: bool = True):
    """The label generator of the config's pseudo-label hook
    (``default_hooks.pseudo_label.label_generator``; absent: the hook's
    default ``LabelGenerator()``), built from ``CLUSTERERS``.

    Args:
        cfg (Config): A training config.
        eps (float, optional): Replaces ``clusterer.eps``. Defaults to None.
        use_camera_filter (bool): False leaves out the ``CameraAwareFilter``
            stages (for images without cameras). Defaults to True.

    Returns:
        tuple: ``(generator, notes)``, notes a list of str saying what was
        changed.
    """
    from jclreid.clustering import CameraAwareFilter
    hook = (cfg.get('default_hooks') or {}).get('pseudo_label') or {}
    gen_cfg = hook.get('label_generator')
    if gen_cfg is None:
        gen_cfg = dict(type='LabelGenerator')
    gen_cfg = copy.deepcopy(_plain(gen_cfg) if isinstance(gen_cfg, dict)
                            else gen_cfg)
    notes = []
    if eps is not None:
        if not isinstance(gen_cfg, dict):
            raise TypeError('--eps needs the label generator as a config '
                            'dict (default_hooks.pseudo_label.'
                            'label_generator)')
        clusterer = gen_cfg.get('clusterer') or dict(type='DBSCANClusterer')
        gen_cfg['clusterer'] = dict(clusterer, eps=float(eps))
        notes.append(f'clusterer eps set to {eps}')
    generator = build_if_config(gen_cfg, CLUSTERERS)
    if not use_camera_filter:
        filters = getattr(generator, 'filters', [])
        kept = [f for f in filters if not isinstance(f, CameraAwareFilter)]
        if len(kept) != len(filters):
            generator.filters = kept
            notes.append('the images have no cameras: CameraAwareFilter '
                         'skipped (it needs camera ids)')
    return generator, notes


def group_features(features: np.ndarray,
                   label_generator: Callable,
                   camids: Optional[np.ndarray] = None
                   ) -> Tuple[np.ndarray, np.ndarray, dict]:
    """Cluster L2-normalised features into groups.

    Args:
        features (np.ndarray): (N, D) float32, L2-normalised.
        label_generator (callable): ``(features, camids) -> (labels,
            summary)``, e.g. :class:`~jclreid.clustering.LabelGenerator`.
        camids (np.ndarray, optional): (N, ) camera ids. Defaults to None.

    Returns:
        tuple: ``labels`` (N, ) int64, groups numbered ``0..G-1`` from the
        largest (ties: first image first), ``-1`` for outliers;
        ``distances`` (N, ) float64, the cosine distance ``1 - f . c`` of
        each image to the L2-normalised mean ``c`` of its group (NaN for
        outliers); and the generator's summary.
    """
    features = np.ascontiguousarray(features, dtype=np.float32)
    labels, summary = label_generator(features, camids)
    labels = order_groups(np.asarray(labels, dtype=np.int64))
    distances = np.full(labels.shape, np.nan)
    for g in range(labels.max(initial=-1) + 1):
        idx = np.flatnonzero(labels == g)
        centre = features[idx].astype(np.float64).mean(0)
        centre /= max(np.linalg.norm(centre), 1e-12)
        distances[idx] = 1.0 - features[idx].astype(np.float64) @ centre
    return labels, distances, summary


def order_groups(labels: np.ndarray) -> np.ndarray:
    """Renumber groups ``0..G-1`` by decreasing size (ties: the group whose
    first image comes first); ``-1`` (outliers) stays."""
    labels = np.asarray(labels, dtype=np.int64)
    valid = labels >= 0
    if not valid.any():
        return labels.copy()
    values, first, counts = np.unique(
        labels[valid], return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))  # size desc, then first index
    new = np.empty(values.max() + 1, dtype=np.int64)
    new[values[order]] = np.arange(order.size)
    out = labels.copy()
    out[valid] = new[labels[valid]]
    return out
