# Copyright (c) jclreid contributors. All rights reserved.
"""Train a model from a config.

Examples:
    python tools/train.py configs/jcl/jcl_r18_synthetic.py
    python tools/train.py configs/jcl/jcl_r50_market.py \\
        --work-dir work_dirs/market
    bash tools/dist_train.sh configs/jcl/jcl_r50_market.py 4

Checkpoints (``load_from``, ``--resume``, ``init_cfg`` weights) are loaded
with ``torch.load(weights_only=True)``; a file that holds other objects is
refused unless ``--trust-checkpoint``. ``load_from`` / ``--resume`` load
strictly unless the config sets ``load_strict = False``.

``--tensorboard`` appends mmengine's ``TensorboardVisBackend`` to
``visualizer.vis_backends`` (events under
``<work_dir>/<timestamp>/vis_data/``, next to the json logs); it needs the
optional ``tensorboard`` package (``requirements/optional.txt``).
"""
import argparse
import os
from typing import Optional

from mmengine.config import Config, DictAction

from jclreid.engine import SafeCheckpointRunner
from jclreid.utils import (apply_global_batch_size, apply_num_threads,
                           launcher_world_size, register_all_modules,
                           setup_cpu_distributed, teardown_distributed)
from config_loader import load_config  # tools/config_loader.py


def parse_args():
    parser = argparse.ArgumentParser(description='Train a jclreid model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work dir when no path is given')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow full unpickling of the checkpoints this run loads '
        '(load_from, --resume, init_cfg), which can run arbitrary code: '
        'only for files you trust (logs a warning naming each file; sets '
        'the config field trust_checkpoint=True)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: the optim wrapper becomes '
        "mmengine's AmpOptimWrapper (float16 autocast, dynamic loss "
        'scaling); needs a CUDA (or NPU / MLU / MUSA) device')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels-last memory format for the model and its inputs '
        '(sets the config field model.data_preprocessor.channels_last)')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log to TensorBoard: appends '
        "dict(type='TensorboardVisBackend') to visualizer.vis_backends "
        '(needs `pip install tensorboard`)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'train_cfg.max_epochs=2 model.backbone.depth=18')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torchrun passes --local-rank (or --local_rank with older launchers).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge command-line arguments into the config."""
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError('--amp works with OptimWrapper only; the config '
                             f'field optim_wrapper.type is {optim_wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.channels_last:
        preprocessor = cfg.model.get('data_preprocessor') or dict(
            type='ReIDDataPreprocessor')
        preprocessor['channels_last'] = True
        cfg.model.data_preprocessor = preprocessor
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if getattr(args, 'tensorboard', False):
        add_tensorboard(cfg)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    cfg.launcher = args.launcher
    return cfg


#: The visualizer backend ``--tensorboard`` adds.
TENSORBOARD_BACKEND = 'TensorboardVisBackend'


def add_tensorboard(cfg: Config) -> Config:
    """Append ``dict(type='TensorboardVisBackend')`` to
    ``cfg.visualizer.vis_backends`` (once; a config without a visualizer
    gets mmengine's ``Visualizer`` with the local and TensorBoard
    backends).

    Raises:
        SystemExit: If ``torch.utils.tensorboard`` cannot be imported
            (the ``tensorboard`` package is missing), saying how to
            install it.
    """
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError as err:
        raise SystemExit(
            '--tensorboard needs the tensorboard package, which is not '
            f'importable here ({err}); install it with `pip install '
            "tensorboard` (or `pip install -e '.[optional]'`), or train "
            'without --tensorboard') from None
    visualizer = cfg.get('visualizer') or dict(
        type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    backends = list(visualizer.get('vis_backends') or [])
    if not any(b.get('type') == TENSORBOARD_BACKEND for b in backends):
        backends.append(dict(type=TENSORBOARD_BACKEND))
    visualizer['vis_backends'] = backends
    cfg.visualizer = visualizer
    return cfg


#: Devices mmengine's AmpOptimWrapper trains on.
AMP_DEVICES = ('cuda', 'npu', 'mlu', 'musa')


def check_amp_device(cfg: Config, device: Optional[str] = None) -> None:
    """Refuse an ``AmpOptimWrapper`` config on a device mmengine's AMP
    does not support (it asserts deep in the Runner otherwise).

    Args:
        cfg (Config): The merged config.
        device (str, optional): Defaults to ``mmengine.device.get_device()``.

    Raises:
        SystemExit: Naming the device and what to do.
    """
    if cfg.get('optim_wrapper', {}).get('type') != 'AmpOptimWrapper':
        return
    if device is None:
        from mmengine.device import get_device
        device = get_device()
    if device not in AMP_DEVICES:
        raise SystemExit(
            'AMP (--amp, optim_wrapper.type=AmpOptimWrapper) needs a CUDA, '
            "NPU, MLU or MUSA device: mmengine's AmpOptimWrapper does not "
            f'train on {device!r}, the device of this machine. Train without '
            '--amp (optim_wrapper.type=OptimWrapper) here')


def main():
    args = parse_args()
    # jclreid's modules, safe checkpoint loading, atomic checkpoint writes.
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    cfg = merge_args(cfg, args)
    check_amp_device(cfg)
    apply_global_batch_size(cfg, launcher_world_size(args.launcher))
    setup_cpu_distributed(cfg, args.launcher)
    apply_num_threads(cfg)
    runner = SafeCheckpointRunner.from_cfg(cfg)
    runner.train()
    teardown_distributed()


if __name__ == '__main__':
    main()
