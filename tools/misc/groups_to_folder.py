# Copyright (c) jclreid contributors. All rights reserved.
"""Copy grouped images into a labelled dataset layout (never moves them).

Reads a ``groups.csv`` written by ``tools/group_images.py`` (after you have
corrected it: change a row's group to move an image, give two groups the
same number to merge them, set -1 to drop an image) and copies every image
of a group >= 0 into

- ``--layout reid`` (default): ``OUT/train/<group:04d>_c<camera>_<n:06d>
  <ext>``, the layout ``ReIDFolder`` reads (pid = group, cameras numbered
  1..C in sorted order of the CSV's camera names); without cameras in the
  CSV, ``OUT/train/<group:04d>_<n:06d><ext>``, read with
  ``ReIDFolder(pattern=r'(?P<pid>-?\\d+)_', has_cameras=False)``;
- ``--layout scenes``: ``OUT/<group:04d>/<n:06d><ext>``, the class folders
  ``SceneFolder`` reads.

``OUT/mapping.csv`` lists every source file and its copy (and the camera
numbering). OUT must not exist or be empty.

Example:
    python tools/misc/groups_to_folder.py work_dirs/groups/groups.csv \\
        data/my_labelled --layout reid
"""
import argparse
import csv
import io
import os
import os.path as osp
import re
import shutil
import sys

from jclreid.apis.grouping import read_groups_csv
from jclreid.utils import atomic_write


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Copy the images of a groups.csv into a labelled '
        'ReIDFolder / SceneFolder layout (the sources are never moved)')
    parser.add_argument('csv', help='groups.csv of tools/group_images.py')
    parser.add_argument('out', help='output folder (must not exist or be '
                        'empty)')
    parser.add_argument(
        '--layout',
        choices=['reid', 'scenes'],
        default='reid',
        help='reid: OUT/train/<pid>_c<cam>_<n>.ext (ReIDFolder); scenes: '
        'OUT/<group>/<n>.ext (SceneFolder)')
    parser.add_argument(
        '--min-size',
        type=int,
        default=1,
        help='copy only groups with at least this many images')
    return parser.parse_args(argv)


def camera_numbers(names):
    """Camera names -> 1..C, in sorted order (numeric when every name is
    an integer)."""
    distinct = sorted(set(names),
                      key=int if all(re.fullmatch(r'-?\d+', n)
                                     for n in names) else None)
    return {n: i + 1 for i, n in enumerate(distinct)}


def main(argv=None):
    args = parse_args(argv)
    if osp.isdir(args.out) and os.listdir(args.out):
        sys.exit(f'groups_to_folder.py: error: {args.out!r} exists and is '
                 'not empty; choose another folder (nothing is overwritten)')
    try:
        rows = read_groups_csv(args.csv)
    except (OSError, ValueError) as err:
        sys.exit(f'groups_to_folder.py: error: {err}')
    sizes = {}
    for r in rows:
        if r['group'] >= 0:
            sizes[r['group']] = sizes.get(r['group'], 0) + 1
    keep = [
        r for r in rows
        if r['group'] >= 0 and sizes[r['group']] >= args.min_size
    ]
    if not keep:
        sys.exit(f'groups_to_folder.py: error: no group in {args.csv!r} '
                 f'with at least {args.min_size} image(s)')
    missing = [r['path'] for r in keep if not osp.isfile(r['path'])]
    if missing:
        sys.exit(f'groups_to_folder.py: error: {len(missing)} file(s) of '
                 f'{args.csv!r} do not exist, e.g. {missing[0]!r}')
    with_cams = all(r['camera'] for r in keep)
    cams = camera_numbers([r['camera'] for r in keep]) if with_cams else {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(['source', 'copy', 'group', 'camera'])
    for n, r in enumerate(keep):
        ext = osp.splitext(r['path'])[1].lower()
        if args.layout == 'scenes':
            rel = osp.join(f'{r["group"]:04d}', f'{n:06d}{ext}')
        elif with_cams:
            rel = osp.join('train', f'{r["group"]:04d}_c{cams[r["camera"]]}_'
                           f'{n:06d}{ext}')
        else:
            rel = osp.join('train', f'{r["group"]:04d}_{n:06d}{ext}')
        dst = osp.join(args.out, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copy2(r['path'], dst)  # a copy: the source stays
        writer.writerow([r['path'], rel, r['group'], r['camera'] or ''])
    atomic_write(out.getvalue().encode('utf-8'),
                 osp.join(args.out, 'mapping.csv'))
    groups = len({r['group'] for r in keep})
    print(f'copied {len(keep)} images of {groups} groups into '
          f'{args.out!r} ({args.layout} layout)')
    if args.layout == 'reid' and with_cams:
        print('cameras: ' + ', '.join(f'{k} -> c{v}' for k, v in cams.items()))
        print(f"read it with dict(type='ReIDFolder', data_root={args.out!r},"
              " split='train')")
    elif args.layout == 'reid':
        print(f"no cameras: read it with dict(type='ReIDFolder', "
              f"data_root={args.out!r}, split='train', "
              "pattern=r'(?P<pid>-?\\d+)_', has_cameras=False)")
    else:
        print(f"read it with dict(type='SceneFolder', data_root={args.out!r})")


if __name__ == '__main__':
    main()
