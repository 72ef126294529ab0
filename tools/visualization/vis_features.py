# Copyright (c) jclreid contributors. All rights reserved.
"""t-SNE map of re-ID features, coloured by identity, pseudo label or
camera.

Examples:
    # test features from a tools/test.py --dump file
    python tools/visualization/vis_features.py --dump work_dirs/dump.pkl \
        --color-by pid --out tsne_pid.png
    # train features of a checkpoint, coloured by its pseudo labels
    python tools/visualization/vis_features.py CONFIG CKPT --split train \
        --color-by label --out tsne_label.png

Features come from a dump or are extracted with
:class:`jclreid.apis.ReIDInferencer` from the images of the config's
``train_dataloader`` / ``test_dataloader`` dataset. ``--color-by label``
uses the pseudo labels stored in the checkpoint (key ``pseudo_labels``,
indexed like the train set, so ``--split train`` only); their outliers
(-1) are drawn as small grey points. ``--max-groups`` keeps the samples of
that many randomly chosen identities / labels / cameras (0: all), so that
the colours stay distinguishable.
"""
import argparse
import os
import os.path as osp
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from config_loader import load_config  # noqa: E402  tools/config_loader.py

GROUP_NAMES = dict(pid='identity', label='pseudo label', camid='camera')
PLURALS = dict(pid='identities', label='pseudo labels', camid='cameras')


def parse_args():
    parser = argparse.ArgumentParser(
        description='t-SNE of re-ID features coloured by identity, pseudo '
        'label or camera')
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument('--dump', help='a tools/test.py --dump file instead '
                        'of a config and checkpoint')
    parser.add_argument('--split', choices=['train', 'test'], default='test',
                        help='dataset whose images are embedded (config '
                        'and checkpoint only)')
    parser.add_argument('--color-by', choices=['pid', 'label', 'camid'],
                        default='pid')
    parser.add_argument('--max-groups', type=int, default=18,
                        help='groups (colours) kept, chosen at random; 0: '
                        'all')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='tsne.png', help='output PNG')
    parser.add_argument('--device', default=None)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling of the checkpoint '
                        '(can run arbitrary code: only for trusted files)')
    args = parser.parse_args()
    if args.dump is None and (args.config is None or args.checkpoint is None):
        parser.error('give CONFIG and CHECKPOINT, or --dump')
    if args.dump is not None and args.config is not None:
        parser.error('give either CONFIG and CHECKPOINT or --dump, not both')
    if args.max_groups < 0:
        parser.error('--max-groups must be >= 0')
    return args


def from_dump(args) -> tuple:
    from jclreid.visualization import load_reid_dump
    if args.color_by == 'label':
        raise SystemExit('--color-by label needs a checkpoint with pseudo '
                         'labels (CONFIG CHECKPOINT --split train); a dump '
                         'holds test features only')
    dump = load_reid_dump(args.dump)
    groups = np.asarray(dump[args.color_by + 's'])  # pids / camids
    return dump['features'], groups, f'{args.dump} (test features)'


def from_checkpoint(args) -> tuple:
    from jclreid.apis import ReIDInferencer
    from jclreid.registry import DATASETS
    from jclreid.utils import apply_num_threads, load_checkpoint_file
    cfg = load_config(args.config, args.cfg_options)
    apply_num_threads(cfg)
    inferencer = ReIDInferencer(
        cfg, args.checkpoint, device=args.device,
        trust_checkpoint=args.trust_checkpoint)
    loader = cfg.get(f'{args.split}_dataloader')
    if loader is None:
        raise SystemExit(f'config {args.config!r} has no '
                         f'{args.split}_dataloader')
    dataset = DATASETS.build(loader.dataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    if args.color_by == 'label':
        if args.split != 'train':
            raise SystemExit('--color-by label: pseudo labels exist for the '
                             'train set only (use --split train)')
        ckpt = load_checkpoint_file(
            args.checkpoint, map_location='cpu', trust=args.trust_checkpoint)
        state = ckpt.get('pseudo_labels') if isinstance(ckpt, dict) else None
        labels = state.get('labels') if isinstance(state, dict) else None
        if labels is None or len(labels) != len(infos):
            raise SystemExit(
                f'checkpoint {args.checkpoint!r} holds no pseudo labels for '
                f'the {len(infos)} train images (key pseudo_labels.labels, '
                'written by PseudoLabelHook)')
        groups = np.asarray(labels).astype(np.int64)
    else:
        groups = np.array([info.get(args.color_by, 0) for info in infos])
    keep = choose(groups, args)
    feats = inferencer.extract([infos[i]['img_path'] for i in keep])
    return feats.numpy(), groups[keep], (
        f'{osp.basename(args.checkpoint)}, {args.split} set')


def choose(groups: np.ndarray, args) -> np.ndarray:
    """Indices of the samples of at most ``max_groups`` random groups
    (pseudo-label outliers are kept as grey context)."""
    names = np.unique(groups[groups >= 0]) if args.color_by == 'label' \
        else np.unique(groups)
    if args.max_groups and len(names) > args.max_groups:
        rng = np.random.RandomState(args.seed)
        names = rng.choice(names, args.max_groups, replace=False)
    keep = np.isin(groups, names)
    if args.color_by == 'label':
        keep |= groups == -1
    return np.flatnonzero(keep)


def plot(points: np.ndarray, groups: np.ndarray, args, source: str):
    names = [g for g in np.unique(groups)
             if not (args.color_by == 'label' and g == -1)]
    # tab20 without its two greys (grey is for outliers).
    palette = [c for i, c in enumerate(plt.get_cmap('tab20').colors)
               if i not in (14, 15)]
    if len(names) > len(palette):
        turbo = plt.get_cmap('turbo')
        palette = [turbo(i / max(len(names) - 1, 1))
                   for i in range(len(names))]
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    outliers = groups == -1 if args.color_by == 'label' else None
    if outliers is not None and outliers.any():
        ax.scatter(*points[outliers].T, s=6, c='lightgrey',
                   label='outlier (-1)')
    for i, name in enumerate(names):
        mask = groups == name
        ax.scatter(*points[mask].T, s=14, color=palette[i], label=str(name))
    if len(names) <= 18:
        ax.legend(fontsize=6, markerscale=1, ncol=2, loc='best',
                  title=GROUP_NAMES[args.color_by], title_fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f't-SNE of {len(points)} features by '
                 f'{GROUP_NAMES[args.color_by]}\n{source}', fontsize=9)
    fig.tight_layout()
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(args.out)
    plt.close(fig)


def main():
    args = parse_args()
    if not args.out.lower().endswith('.png'):
        raise SystemExit(f'--out {args.out!r} must end with .png')
    if args.dump is not None:
        feats, groups, source = from_dump(args)
        keep = choose(groups, args)
        feats, groups = feats[keep], groups[keep]
    else:
        feats, groups, source = from_checkpoint(args)
    if len(feats) < 5:
        raise SystemExit(f't-SNE needs at least 5 features, got '
                         f'{len(feats)}')
    from sklearn.manifold import TSNE
    perplexity = min(args.perplexity, (len(feats) - 1) / 3)
    points = TSNE(
        n_components=2, perplexity=perplexity, init='pca',
        random_state=args.seed).fit_transform(np.asarray(feats, np.float32))
    plot(points, groups, args, source)
    outliers = int((groups == -1).sum()) if args.color_by == 'label' else 0
    num_groups = len(np.unique(groups[groups != -1])) if outliers else len(
        np.unique(groups))
    print(f'wrote {args.out} ({len(feats)} features, {num_groups} '
          f'{PLURALS[args.color_by]}'
          f'{f", {outliers} outliers" if outliers else ""})')


if __name__ == '__main__':
    main()
