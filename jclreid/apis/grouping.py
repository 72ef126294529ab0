# Copyright (c) jclreid contributors. All rights reserved.
"""Group a folder of unlabeled images (person crops or scene tiles) with a
trained model: features (cached), the training config's label generator,
and browsable outputs (CSV, contact sheets, ``index.html``).

``tools/group_images.py`` is the command line of :func:`group_folder`.
Nothing here writes outside the output folder; the images are only read.
"""
import copy
import csv
import hashlib
import html
import io
import json
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

import cv2
import numpy as np

from jclreid.registry import CLUSTERERS, build_if_config
from jclreid.utils.fileio import atomic_write

__all__ = [
    'file_sha256', 'features_cache_key', 'load_cached_features',
    'save_cached_features', 'extraction_pipeline', 'build_label_generator',
    'group_features', 'order_groups', 'write_groups_csv', 'read_groups_csv',
    'write_contact_sheets', 'write_index_html', 'group_folder',
    'truth_agreement',
    'FEATURES_FILE', 'CSV_FILE', 'INDEX_FILE', 'SUMMARY_FILE'
]

FEATURES_FILE = 'features.npz'
CSV_FILE = 'groups.csv'
INDEX_FILE = 'index.html'
SUMMARY_FILE = 'summary.json'
CSV_FIELDS = ('path', 'group', 'distance', 'camera')
#: Names of the contact sheets this module writes (and may replace).
SHEET_PATTERN = re.compile(r'^(group_\d{4,}|outliers)(_p\d+)?\.png$')
_CACHE_VERSION = 1


# ------------------------------------------------------------------- cache
def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _plain(value):
    """A config value (ConfigDict, tuples, ...) as JSON-able data."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def features_cache_key(checkpoint_sha256: str, model_cfg, pipeline,
                       paths: Sequence[str]) -> str:
    """The key of a feature cache: what changes the features.

    Args:
        checkpoint_sha256 (str): SHA-256 of the checkpoint file.
        model_cfg (dict): The config's ``model`` (architecture).
        pipeline (list[dict]): The extraction pipeline.
        paths (Sequence[str]): The image files, each with its size and
            modification time (``st_mtime_ns``): a changed, added or
            removed file changes the key.

    Returns:
        str: SHA-256 hex digest.
    """
    files = []
    for p in paths:
        st = os.stat(p)
        files.append([osp.abspath(p), st.st_size, st.st_mtime_ns])
    blob = json.dumps(
        dict(
            version=_CACHE_VERSION,
            checkpoint=checkpoint_sha256,
            model=_plain(model_cfg),
            pipeline=_plain(list(pipeline)),
            files=files),
        sort_keys=True).encode('utf-8')
    return hashlib.sha256(blob).hexdigest()


def save_cached_features(path: str, key: str, features: np.ndarray,
                         paths: Sequence[str],
                         skipped: Sequence[str]) -> None:
    """Write the features of ``paths`` (and the ``skipped`` files) to an
    ``.npz`` file, atomically.

    Args:
        path (str): The ``.npz`` file.
        key (str): :func:`features_cache_key`.
        features (np.ndarray): (N, D) float32, row i the features of
            ``paths[i]``.
        paths (Sequence[str]): N image paths.
        skipped (Sequence[str]): Unreadable files left out.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] != len(paths):
        raise ValueError(f'save_cached_features: {features.shape} features '
                         f'for {len(paths)} paths')
    buf = io.BytesIO()
    np.savez(
        buf,
        key=np.array(key),
        features=features,
        paths=np.array(list(paths), dtype=str),
        skipped=np.array(list(skipped), dtype=str))
    atomic_write(buf.getvalue(), path)


def load_cached_features(
        path: str,
        key: str) -> Optional[Tuple[np.ndarray, List[str], List[str]]]:
    """Read a feature cache written by :func:`save_cached_features`.

    Loaded with ``allow_pickle=False`` (nothing in it can run code).

    Returns:
        tuple | None: ``(features (N, D) float32, paths, skipped)``, or
        None when the file is absent, unreadable or made for another
        ``key`` (another checkpoint, config or image list).
    """
    if not osp.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data['key']) != key:
                return None
            features = data['features'].astype(np.float32)
            paths = [str(p) for p in data['paths']]
            skipped = [str(p) for p in data['skipped']]
    except (OSError, ValueError, KeyError):
        return None
    if features.ndim != 2 or features.shape[0] != len(paths):
        return None
    return features, paths, skipped


# -------------------------------------------------------------- clustering
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


# ----------------------------------------------------------------- outputs
def _members(labels: np.ndarray, distances: np.ndarray,
             group: int) -> np.ndarray:
    """Indices of ``group``, closest to the centre first (outliers: input
    order)."""
    idx = np.flatnonzero(labels == group)
    if group < 0:
        return idx
    return idx[np.argsort(distances[idx], kind='stable')]


def write_groups_csv(path: str, paths: Sequence[str], labels: np.ndarray,
                     distances: np.ndarray,
                     cameras: Optional[Sequence[str]] = None) -> None:
    """Write ``path``, ``group``, ``distance``, ``camera`` per image: groups
    in order, each closest to its centre first, outliers (group -1, empty
    distance) last; ``cameras`` holds each image's camera name (empty when
    None: no cameras)."""
    labels = np.asarray(labels)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_FIELDS)
    groups = list(range(labels.max(initial=-1) + 1)) + [-1]
    for g in groups:
        for i in _members(labels, distances, g):
            dist = '' if g < 0 else f'{distances[i]:.6f}'
            cam = '' if cameras is None else cameras[i]
            writer.writerow([paths[i], g, dist, cam])
    atomic_write(out.getvalue().encode('utf-8'), path)


def read_groups_csv(path: str) -> List[dict]:
    """Rows of a ``groups.csv``: dicts with ``path`` (str), ``group``
    (int), ``distance`` (float or None) and ``camera`` (str or None).

    Raises:
        ValueError: A missing column or a bad value, naming the file and
            the line.
    """
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        missing = set(CSV_FIELDS[:2]) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f'{path!r}: missing column(s) '
                             f'{sorted(missing)}; expected a header with '
                             f'{", ".join(CSV_FIELDS)}')
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(
                    dict(
                        path=row['path'],
                        group=int(row['group']),
                        distance=(float(row['distance'])
                                  if row.get('distance') else None),
                        camera=row.get('camera') or None))
            except (TypeError, ValueError):
                raise ValueError(f'{path!r} line {line}: expected an integer '
                                 f'group, got {row}') from None
    return rows


def _read_thumbnail(path: str) -> Optional[np.ndarray]:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    return img if img is not None and img.size else None


def write_contact_sheets(out_dir: str,
                         paths: Sequence[str],
                         labels: np.ndarray,
                         distances: np.ndarray,
                         cameras: Optional[Sequence[str]] = None,
                         cell_size: Tuple[int, int] = (128, 64),
                         columns: int = 10,
                         max_per_sheet: int = 100) -> List[dict]:
    """One PNG contact sheet per group, largest first (``group_0000.png``
    ...), outliers on ``outliers.png``; a group of more than
    ``max_per_sheet`` images continues on ``group_0000_p2.png`` ...

    Each cell is captioned with its position in the group (the row order
    of ``groups.csv``), its distance to the group centre and its camera
    name (``cameras``, one per image, or None).

    Returns:
        list[dict]: One per sheet: ``file`` (name in ``out_dir``),
        ``group``, ``page``, ``pages``, ``size`` (images in the group),
        ``first`` (position in the group of the sheet's first image) and
        ``members`` (indices into ``paths`` on this sheet).
    """
    from jclreid.visualization import make_grid, save_png
    labels = np.asarray(labels)
    sheets = []
    groups = list(range(labels.max(initial=-1) + 1))
    if (labels < 0).any():
        groups.append(-1)
    for g in groups:
        members = _members(labels, distances, g)
        pages = max(1, -(-members.size // max_per_sheet))
        base = 'outliers' if g < 0 else f'group_{g:04d}'
        for page in range(pages):
            chunk = members[page * max_per_sheet:(page + 1) * max_per_sheet]
            rows, caps = [], []
            for start in range(0, chunk.size, columns):
                row = chunk[start:start + columns]
                rows.append([_read_thumbnail(paths[i]) for i in row])
                cap = []
                for k, i in enumerate(row, start=page * max_per_sheet +
                                      start):
                    text = f'{k}' if g < 0 else f'{k} {distances[i]:.3f}'
                    if cameras is not None:
                        text += f'\ncam {cameras[i]}'
                    cap.append(text)
                caps.append(cap)
            name = 'outliers' if g < 0 else f'group {g}'
            title = f'{name}: {members.size} images'
            if pages > 1:
                title += f' (page {page + 1}/{pages})'
            file = base + ('' if page == 0 else f'_p{page + 1}') + '.png'
            save_png(
                make_grid(rows, cell_size=cell_size, captions=caps,
                          title=title), osp.join(out_dir, file))
            sheets.append(
                dict(file=file, group=g, page=page + 1, pages=pages,
                     size=int(members.size), first=page * max_per_sheet,
                     members=chunk.tolist()))
    return sheets


def _href(target: str, start: str) -> str:
    rel = osp.relpath(osp.abspath(target), osp.abspath(start))
    return quote(rel.replace(osp.sep, '/'))


def write_index_html(out_dir: str, sheets: Sequence[dict],
                     paths: Sequence[str], summary: dict) -> None:
    """``index.html`` in ``out_dir``: the run's summary, then every sheet
    (relative links) under a heading with its group size, and the list of
    its files (links relative to ``out_dir``; every name HTML-escaped)."""
    esc = html.escape
    lines = [
        '<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
        '<title>Groups of {}</title>'.format(
            esc(str(summary.get('folder', '')))),
        '<style>body{font-family:sans-serif} img{max-width:100%} '
        'li{font-family:monospace}</style>', '</head><body>',
        '<h1>Groups of {}</h1>'.format(esc(str(summary.get('folder', ''))))
    ]
    lines.append('<ul>')
    for key in ('num_images', 'num_groups', 'num_outliers', 'eps',
                'checkpoint', 'config'):
        if key in summary:
            lines.append(f'<li>{esc(key)}: {esc(str(summary[key]))}</li>')
    for note in summary.get('notes', []):
        lines.append(f'<li>{esc(note)}</li>')
    if summary.get('agreement'):
        lines.append('<li>agreement with the known labels: ' + esc(', '.join(
            f'{k} {v:.4f}' for k, v in summary['agreement'].items())) +
            '</li>')
    skipped = summary.get('skipped', [])
    if skipped:
        lines.append(f'<li>{len(skipped)} unreadable file(s) skipped:<ul>')
        lines += [f'<li>{esc(p)}</li>' for p in skipped]
        lines.append('</ul></li>')
    lines.append('</ul>')
    lines.append('<p>Each sheet shows a group, closest to its centre first; '
                 'a caption gives the position in the group, the cosine '
                 'distance to the centre and the camera. Full list: '
                 f'<a href="{CSV_FILE}">{CSV_FILE}</a>.</p>')
    for sheet in sheets:
        name = ('outliers' if sheet['group'] < 0 else
                f'group {sheet["group"]}')
        page = (f', page {sheet["page"]}/{sheet["pages"]}'
                if sheet['pages'] > 1 else '')
        anchor = esc(osp.splitext(sheet['file'])[0])
        lines.append(f'<h2 id="{anchor}">{esc(name)}: {sheet["size"]} '
                     f'images{page}</h2>')
        lines.append(f'<img src="{esc(quote(sheet["file"]))}" '
                     f'alt="{esc(name)}">')
        lines.append('<details><summary>files</summary>'
                     f'<ol start="{sheet["first"]}">')
        for i in sheet['members']:
            shown = paths[i]
            if summary.get('folder'):
                shown = osp.relpath(paths[i], summary['folder'])
            lines.append(f'<li><a href="{esc(_href(paths[i], out_dir))}">'
                         f'{esc(shown)}</a></li>')
        lines.append('</ol></details>')
    lines.append('</body></html>')
    atomic_write(('\n'.join(lines) + '\n').encode('utf-8'),
                 osp.join(out_dir, INDEX_FILE))


def _remove_stale_sheets(out_dir: str, keep: Sequence[str]) -> None:
    """Delete the sheets of an earlier run (listed in its summary.json and
    named like this module's sheets) that this run did not rewrite."""
    old = osp.join(out_dir, SUMMARY_FILE)
    if not osp.isfile(old):
        return
    try:
        with open(old, encoding='utf-8') as f:
            previous = json.load(f).get('sheets', [])
    except (OSError, ValueError, AttributeError):
        return
    keep = set(keep)
    for name in previous:
        if (isinstance(name, str) and name not in keep
                and SHEET_PATTERN.match(name) and osp.basename(name) == name):
            try:
                os.remove(osp.join(out_dir, name))
            except FileNotFoundError:
                pass


# ------------------------------------------------------------ the workflow
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
        features = feats.detach().cpu().numpy().astype(np.float32) \
            if hasattr(feats, 'detach') else np.asarray(feats, np.float32)
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
