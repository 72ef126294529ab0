# Copyright (c) jclreid contributors. All rights reserved.
"""Group a folder of unlabeled images (person crops or scene tiles) with a
trained model, and write browsable results.

Examples:
    python tools/group_images.py configs/jcl/jcl_r18_unlabeled.py \\
        work_dirs/my_crops/epoch_25.pth path/to/crops --out work_dirs/groups
    # another eps: reuses the features cached in --out (seconds)
    python tools/group_images.py configs/jcl/jcl_r18_unlabeled.py \\
        work_dirs/my_crops/epoch_25.pth path/to/crops --out work_dirs/groups \\
        --eps 0.5

Writes to OUT: ``groups.csv`` (path, group, distance to the group centre,
camera; outliers are group -1), ``group_0000.png`` ... (one contact sheet
per group, largest first), ``outliers.png``, ``index.html`` (every sheet
with its group size and file list), ``summary.json`` and the feature cache
``features.npz`` (reused while the checkpoint, the model config and the
images are unchanged). The images are only read, never moved or changed.
"""
import argparse
import sys

from mmengine.config import DictAction

from jclreid.apis.grouping import group_folder
from jclreid.utils import apply_num_threads, register_all_modules
from config_loader import load_config  # tools/config_loader.py


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Group a folder of unlabeled images with a trained '
        'jclreid model (the training config\'s label generator)')
    parser.add_argument('config', help='the training config file')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument(
        'folder', help='the images (sub-folders included); only read')
    parser.add_argument(
        '--out', required=True,
        help='output folder (created; not inside FOLDER)')
    parser.add_argument(
        '--eps',
        type=float,
        help='DBSCAN eps of the label generator (default: the config\'s); '
        'larger: fewer, bigger groups and fewer outliers')
    parser.add_argument(
        '--on-error',
        choices=['skip', 'raise'],
        default='raise',
        help='an unreadable image: stop naming it (raise, default) or '
        'leave it out, naming it (skip)')
    parser.add_argument(
        '--device', help='e.g. cpu, cuda, cuda:1 (default: cuda if '
        'available)')
    parser.add_argument(
        '--batch-size', type=int, default=32, help='extraction batch')
    parser.add_argument(
        '--cam-regex',
        help='camera from the image path relative to FOLDER, a regular '
        'expression with one group, e.g. "_c(\\d+)" (default: the config\'s '
        'train dataset\'s, when it is an UnlabeledFolder)')
    parser.add_argument(
        '--camera-from',
        choices=['folder'],
        help='camera = the first sub-folder of FOLDER')
    parser.add_argument(
        '--max-per-sheet',
        type=int,
        default=100,
        help='images per contact sheet; larger groups get more pages')
    parser.add_argument(
        '--cell-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='contact-sheet cell in pixels (default: height 128 with the '
        'aspect ratio of the pipeline\'s Resize)')
    parser.add_argument(
        '--truth-regex',
        help='when the images carry known labels (a labelled sample, '
        'synthetic data): a regular expression with one group read from '
        'each path relative to FOLDER, e.g. "^(\\d{4})_"; prints the '
        'NMI / ARI / pairwise precision-recall of the groups against them')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow full unpickling of the checkpoint (can run arbitrary '
        'code: only for files you trust)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.max_per_sheet < 1:
        parser.error(
            f'--max-per-sheet must be >= 1, got {args.max_per_sheet}')
    if args.cell_size is not None and min(args.cell_size) < 16:
        parser.error(f'--cell-size must be >= 16 16, got {args.cell_size}')
    if args.eps is not None and not args.eps > 0:
        parser.error(f'--eps must be > 0, got {args.eps}')
    return args


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)
    apply_num_threads(cfg)
    try:
        group_folder(
            cfg,
            args.checkpoint,
            args.folder,
            args.out,
            eps=args.eps,
            on_error=args.on_error,
            device=args.device,
            batch_size=args.batch_size,
            cam_regex=args.cam_regex,
            camera_from=args.camera_from,
            max_per_sheet=args.max_per_sheet,
            cell_size=args.cell_size,
            trust_checkpoint=args.trust_checkpoint,
            truth_regex=args.truth_regex)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'group_images.py: error: {err}')


if __name__ == '__main__':
    main()
