# Copyright (c) jclreid contributors. All rights reserved.
"""Score a checkpoint: mAP / CMC / mINP for re-ID, ACC / NMI / ARI / mAP for
scenes.

Examples:
    python tools/test.py configs/jcl/jcl_r50_market.py \\
        work_dirs/jcl_r50_market/epoch_50.pth
    python tools/test.py CONFIG CKPT --dump work_dirs/feats.pkl --rerank

The checkpoint is loaded with ``torch.load(weights_only=True)`` (a file that
holds other objects is refused unless ``--trust-checkpoint``) and strictly:
missing, unexpected or mis-shaped keys stop the run unless ``--non-strict``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from jclreid.engine import SafeCheckpointRunner
from jclreid.utils import (apply_num_threads, register_all_modules,
                           setup_cpu_distributed, teardown_distributed)
from config_loader import load_config  # tools/config_loader.py


def parse_args():
    parser = argparse.ArgumentParser(description='Test a jclreid model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump features, pids, camids, image paths and the '
        'query-gallery ranking (top 50) to a .pkl file, for visualisation')
    parser.add_argument(
        '--rerank',
        action='store_true',
        help='k-reciprocal re-ranking in the re-ID metric')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow full unpickling of the checkpoint, which can run '
        'arbitrary code: only for files you trust (logs a warning; sets the '
        'config field trust_checkpoint=True)')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint whose keys or shapes differ from the model '
        '(the matching keys only; the mismatch is logged as a warning; sets '
        'the config field load_strict=False)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _set_rerank(evaluator_cfg) -> None:
    metrics = evaluator_cfg if isinstance(evaluator_cfg,
                                          list) else [evaluator_cfg]
    for metric in metrics:
        if metric.get('type') == 'ReIDMetric':
            metric['rerank'] = True


def main():
    args = parse_args()
    # jclreid's modules and safe checkpoint loading (init_cfg weights too).
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    cfg.launcher = args.launcher
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} does not exist')
    cfg.load_from = args.checkpoint
    cfg.trust_checkpoint = args.trust_checkpoint
    cfg.load_strict = not args.non_strict
    if args.rerank:
        _set_rerank(cfg.test_evaluator)
    # The test runner needs no pseudo labels.
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h.get('type') != 'PseudoLabelHook'
    ]
    setup_cpu_distributed(cfg, args.launcher)
    apply_num_threads(cfg)
    if args.dump is not None:
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator,
                                                  list) else [evaluator]
        evaluator.append(dict(type='DumpReIDRanking', out_file=args.dump))
        cfg.test_evaluator = evaluator
    runner = SafeCheckpointRunner.from_cfg(cfg)
    metrics = runner.test()
    teardown_distributed()
    return metrics


if __name__ == '__main__':
    main()
