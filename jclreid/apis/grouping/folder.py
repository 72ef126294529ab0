# Copyright (c) jclreid contributors. All rights reserved.
"""Group a folder of unlabeled images (person crops or scene tiles) with a
trained model: features (cached), the training config's label generator,
and browsable outputs (CSV, contact sheets, ``index.html``).

``tools/group_images.py`` is the command line of :func:`group_folder`.
Nothing here writes outside the output folder; the images are only read.
"""
import copy
import json
import os
import os.path as osp
import re
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from jclreid.utils.array import to_numpy
from jclreid.utils.fileio import atomic_write
from .cache import (FEATURES_FILE, _plain, features_cache_key, file_sha256,
                    load_cached_features, save_cached_features)
from .clustering import (build_label_generator, extraction_pipeline,
                         group_features)
from .outputs import (CSV_FILE, SUMMARY_FILE, _remove_stale_sheets,
                      write_contact_sheets, write_groups_csv,
                      write_index_html)


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def group_folder(cfg,
                 checkpoint: str,
                 folder: str,
                 out_dir: str,
                 eps: Optional[float] = None,
                 on_error: str = 'raise',
                 device: Optional[str] = None,
                 batch_size: int = 32,
                 cam_regex: Optional[str] = None,
                 camera_from: Optional[str] = None,
                 cell_size: Optional[Tuple[int, int]] = None,
                 max_per_sheet: int = 100,
                 progress: bool = True,
                 inferencer_factory: Optional[Callable] = None,
                 trust_checkpoint: bool = False,
                 truth_regex: Optional[str] = None,
                 log: Callable[[str], None] = print) -> Dict:
    """Group the images of ``folder`` with a trained model.

    1. list the images (:class:`~jclreid.datasets.UnlabeledFolder`, sub-
       folders included; cameras from ``cam_regex`` / ``camera_from``);
    2. features with :class:`~jclreid.apis.ReIDInferencer` through the
       pseudo-label hook's extraction pipeline, or from
       ``out_dir/features.npz`` when it was made with the same checkpoint
       (SHA-256), model config, pipeline and image files (paths, sizes,
       modification times);
    3. groups with the config's label generator (``eps`` replaces the
       clusterer's; the camera filter is left out when the images have no
       cameras);
    4. ``groups.csv``, one contact sheet per group, ``outliers.png``,
       ``index.html`` and ``summary.json`` in ``out_dir``.

    The images are only read; ``out_dir`` must not be inside ``folder``.

    Args:
        cfg (Config): The training config.
        checkpoint (str): The trained checkpoint.
        folder (str): The images.
        out_dir (str): Output folder (created).
        eps (float, optional): Clusterer ``eps``. Defaults to None (the
            config's).
        on_error (str): ``'raise'``: an unreadable image stops the run
            naming it; ``'skip'``: it is left out (named in the log, the
            summary and ``index.html``). Defaults to ``'raise'``.
        device (str, optional): Inference device. Defaults to None (CUDA
            when available).
        batch_size (int): Extraction batch. Defaults to 32.
        cam_regex (str, optional): See ``UnlabeledFolder``. Defaults to the
            config's train dataset's when it is an ``UnlabeledFolder``.
        camera_from (str, optional): See ``UnlabeledFolder``. Same default.
        cell_size (tuple[int, int], optional): Contact-sheet cell (h, w).
            Defaults to height 128 with the pipeline's ``Resize`` aspect
            ratio ((128, 64) without one).
        max_per_sheet (int): Images per sheet. Defaults to 100.
        progress (bool): Progress bar during extraction. Defaults to True.
        inferencer_factory (callable, optional): ``(cfg, checkpoint,
            device, batch_size) -> inferencer`` (tests). Defaults to
            :class:`~jclreid.apis.ReIDInferencer`.
        trust_checkpoint (bool): Passed to the inferencer. Defaults to
            False.
        truth_regex (str, optional): Where images carry known labels (a
            labelled sample, or synthetic data): a regular expression with
            one group, searched in each path relative to ``folder``, whose
            match is the true label; the agreement of the groups with it
            (:func:`~jclreid.evaluation.functional.clustering_agreement`:
            NMI, ARI, pairwise precision / recall / F-score; outliers are
            singletons) goes to the log and the summary (``agreement``).
            Every image must match. Defaults to None.
        log (callable): Where progress messages go. Defaults to print.

    Returns:
        dict: The summary also written to ``summary.json`` (``num_images``,
        ``num_groups``, ``num_outliers``, ``group_sizes``, ``skipped``,
        ``from_cache``, ``notes``, ``sheets``, ...), plus ``labels``,
        ``paths`` and ``camids`` (not in the JSON).
    """
    from jclreid.datasets import UnlabeledFolder
    if on_error not in ('raise', 'skip'):
        raise ValueError(f"on_error must be 'raise' or 'skip', got "
                         f'{on_error!r}')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    if osp.isdir(folder) and _inside(out_dir, folder):
        raise ValueError(f'the output folder {out_dir!r} is inside the image '
                         f'folder {folder!r}; choose one outside it (its '
                         'sheets would become inputs of the next run)')
    train_ds = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    if train_ds.get('type') == 'UnlabeledFolder':
        if cam_regex is None and camera_from is None:
            cam_regex = train_ds.get('cam_regex')
            camera_from = train_ds.get('camera_from')
    dataset = UnlabeledFolder(
        data_root=folder, cam_regex=cam_regex, camera_from=camera_from)
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    all_camids = dataset.get_camids() if dataset.has_cameras else None
    log(f'{len(paths)} images in {folder!r}' +
        (f', {len(dataset.metainfo["cameras"])} cameras'
         if dataset.has_cameras else ', no cameras'))

    pipeline = extraction_pipeline(cfg)
    os.makedirs(out_dir, exist_ok=True)
    cache_file = osp.join(out_dir, FEATURES_FILE)
    key = features_cache_key(file_sha256(checkpoint), cfg.get('model'),
                             pipeline, paths)
    cached = load_cached_features(cache_file, key)
    if cached is not None:
        features, kept, skipped = cached
        log(f'features of {len(kept)} images read from {cache_file!r} '
            '(same checkpoint, config and files)')
        if skipped and on_error == 'raise':
            raise ValueError(
                f'{len(skipped)} unreadable image(s) in {folder!r}: '
                f'{skipped[:5]}{" ..." if len(skipped) > 5 else ""}; '
                "fix or remove them, or use --on-error skip (on_error='skip')")
    else:
        infer_cfg = copy.deepcopy(cfg)
        infer_cfg.test_dataloader = dict(dataset=dict(pipeline=pipeline))
        if inferencer_factory is None:
            from jclreid.apis.inferencer import ReIDInferencer

            def inferencer_factory(cfg, checkpoint, device, batch_size):
                return ReIDInferencer(
                    cfg, checkpoint, device=device, batch_size=batch_size,
                    trust_checkpoint=trust_checkpoint)

        inferencer = inferencer_factory(infer_cfg, checkpoint, device,
                                        batch_size)
        feats = inferencer.extract(
            list(paths), progress=progress, on_error=on_error)
        skipped = list(getattr(inferencer, 'skipped', []) or [])
        dropped = set(skipped)
        kept = [p for p in paths if p not in dropped]
        features = to_numpy(feats).astype(np.float32, copy=False)
        if features.shape[0] != len(kept):
            raise RuntimeError(
                f'the inferencer returned {features.shape[0]} features for '
                f'{len(kept)} readable images')
        save_cached_features(cache_file, key, features, kept, skipped)
        log(f'features of {len(kept)} images extracted, cached in '
            f'{cache_file!r}')
    for p in skipped:
        log(f'skipped unreadable image {p!r}')
    if not kept:
        raise ValueError(f'no readable image in {folder!r}')
    index = {p: i for i, p in enumerate(paths)}
    camids = (None if all_camids is None else
              np.asarray([all_camids[index[p]] for p in kept], np.int64))
    cameras = (None if camids is None else
               [dataset.metainfo['cameras'][c] for c in camids])

    generator, notes = build_label_generator(
        cfg, eps=eps, use_camera_filter=camids is not None)
    for note in notes:
        log(note)
    labels, distances, gen_summary = group_features(features, generator,
                                                    camids)
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() \
        else np.zeros(0, np.int64)
    clusterer = getattr(generator, 'clusterer', None)
    agreement = None
    if truth_regex is not None:
        agreement = truth_agreement(kept, labels, folder, truth_regex)
        log('agreement with the labels of --truth-regex: ' + ', '.join(
            f'{k} {v:.4f}' for k, v in agreement.items()))
    if cell_size is None:
        cell_size = _cell_size(pipeline)
    write_groups_csv(osp.join(out_dir, CSV_FILE), kept, labels, distances,
                     cameras)
    sheets = write_contact_sheets(
        out_dir, kept, labels, distances, cameras, cell_size=cell_size,
        max_per_sheet=max_per_sheet)
    summary = dict(
        folder=folder,
        checkpoint=checkpoint,
        config=getattr(cfg, 'filename', None),
        eps=getattr(clusterer, 'eps', None),
        num_images=len(kept),
        num_groups=int(sizes.size),
        num_outliers=int((labels < 0).sum()),
        group_sizes=sizes.tolist(),
        skipped=skipped,
        from_cache=cached is not None,
        notes=notes,
        label_generator=_plain(gen_summary),
        agreement=agreement,
        sheets=[s['file'] for s in sheets])
    write_index_html(out_dir, sheets, kept, summary)
    _remove_stale_sheets(out_dir, summary['sheets'])
    atomic_write(
        json.dumps(summary, indent=2).encode('utf-8'),
        osp.join(out_dir, SUMMARY_FILE))
    log(f'{summary["num_groups"]} groups and {summary["num_outliers"]} '
        f'outliers (eps={summary["eps"]}) -> {out_dir!r}')
    return dict(summary, labels=labels, paths=kept, camids=camids,
                distances=distances)


def truth_agreement(paths: Sequence[str], labels: np.ndarray, folder: str,
                    truth_regex: str) -> Dict[str, float]:
    """Agreement of ``labels`` with the labels that ``truth_regex`` (one
    group) reads from each path relative to ``folder``.

    Raises:
        ValueError: A bad regex, or a path it does not match (named).
    """
    from jclreid.evaluation.functional.clustering import \
        clustering_agreement
    try:
        pattern = re.compile(truth_regex)
    except re.error as e:
        raise ValueError(f'truth regex {truth_regex!r} is not a valid '
                         f'regular expression: {e}') from None
    if pattern.groups != 1:
        raise ValueError(f'truth regex {truth_regex!r} must have exactly '
                         f'one group, it has {pattern.groups}')
    truth = []
    for p in paths:
        rel = osp.relpath(p, folder).replace(osp.sep, '/')
        match = pattern.search(rel)
        if match is None:
            raise ValueError(f'truth regex {truth_regex!r} does not match '
                             f'{p!r} (relative path {rel!r})')
        truth.append(match.group(1))
    return clustering_agreement(np.unique(truth, return_inverse=True)[1],
                                labels)


def _cell_size(pipeline: Sequence[dict]) -> Tuple[int, int]:
    """(128, 128 * w / h) from the first ``Resize(scale=(w, h))`` of the
    pipeline; (128, 64) without one."""
    for t in pipeline:
        scale = t.get('scale') if isinstance(t, dict) else None
        if t.get('type') == 'Resize' and isinstance(scale, (list, tuple)) \
                and len(scale) == 2 and min(scale) > 0:
            w, h = scale
            return 128, max(16, int(round(128 * w / h)))
    return 128, 64
