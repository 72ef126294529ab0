# Copyright (c) jclreid contributors. All rights reserved.
"""What :func:`group_folder` writes: ``groups.csv``, contact sheets and
``index.html``."""
import csv
import html
import io
import json
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple
from urllib.parse import quote

import cv2
import numpy as np

from jclreid.utils.fileio import atomic_write

CSV_FILE = 'groups.csv'
INDEX_FILE = 'index.html'
SUMMARY_FILE = 'summary.json'
CSV_FIELDS = ('path', 'group', 'distance', 'camera')
#: Names of the contact sheets this module writes (and may replace).
SHEET_PATTERN = re.compile(r'^(group_\d{4,}|outliers)(_p\d+)?\.png$')


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
