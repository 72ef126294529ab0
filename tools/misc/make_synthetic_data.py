# Copyright (c) jclreid contributors. All rights reserved.
"""Write the embedded synthetic datasets to a folder.

Examples:
    python tools/misc/make_synthetic_data.py persons data/synthetic_reid
    python tools/misc/make_synthetic_data.py scenes data/synthetic_scenes \\
        --img-size 64 64
"""
import argparse
import os
import time

from jclreid.datasets.synthetic import generate_persons, generate_scenes


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate synthetic re-ID persons (Market-1501 layout) '
        'or aerial scenes (class folders)')
    parser.add_argument('kind', choices=['persons', 'scenes'])
    parser.add_argument('out_dir', help='output folder (must not exist or '
                        'be empty)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train-ids', type=int, default=100)
    parser.add_argument('--num-test-ids', type=int, default=100)
    parser.add_argument('--num-cameras', type=int, default=6)
    parser.add_argument('--images-per-class', type=int, default=60)
    parser.add_argument(
        '--img-size', type=int, nargs=2, metavar=('H', 'W'),
        help='image size; default 64 32 for persons, 64 64 for scenes')
    return parser.parse_args()


def main():
    args = parse_args()
    if os.path.isdir(args.out_dir) and os.listdir(args.out_dir):
        raise FileExistsError(
            f'{args.out_dir!r} exists and is not empty; choose another '
            'folder (existing data is never overwritten)')
    start = time.time()
    if args.kind == 'persons':
        counts = generate_persons(
            args.out_dir,
            num_train_ids=args.num_train_ids,
            num_test_ids=args.num_test_ids,
            num_cameras=args.num_cameras,
            img_size=tuple(args.img_size or (64, 32)),
            seed=args.seed)
    else:
        h, w = args.img_size or (64, 64)
        if h != w:
            raise ValueError(f'scene images are square, got {h}x{w}')
        counts = generate_scenes(
            args.out_dir,
            images_per_class=args.images_per_class,
            img_size=h,
            seed=args.seed)
    total = sum(counts.values())
    print(f'wrote {total} images to {args.out_dir} in '
          f'{time.time() - start:.1f}s: {counts}')


if __name__ == '__main__':
    main()
