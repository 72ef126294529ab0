# Copyright (c) jclreid contributors. All rights reserved.
"""Training throughput of mmengine's loop against a plain PyTorch loop.

For each architecture and input size, one JCL model is built from the
synthetic config (``configs/jcl/jcl_r18_synthetic.py``; ``r50`` sets
``model.backbone.depth=50`` and the neck and head sizes to 2048), its head
memories are filled with random L2-normalised features and random pseudo
labels (``head.reset(..., warmup=False)``, so both the cluster and the
instance loss run), and two loops train copies of it on the same pre-made
batches from the same weights and random seed:

* **mmengine**: the toolbox's ``SafeCheckpointRunner`` with the config's
  train loop (``EpochBasedTrainLoop``, one epoch of ``warm-up + iters``
  batches), ``optim_wrapper``, ``param_scheduler``, ``log_processor`` and
  default hooks (timer, logger, parameter scheduler, sampler seed, random
  state, non-finite check), driving ``model.train_step`` (the
  ``ReIDDataPreprocessor``, the forward pass, ``parse_losses``,
  ``OptimWrapper.update_params``). A ``DataLoader`` without workers hands
  it the batches.
* **plain**: ``for batch in batches``: stack the uint8 images, move them to
  the device, BGR -> RGB, float, normalise (what the data preprocessor
  does), ``model(inputs, data_samples, mode='loss')``, sum the losses,
  ``backward``, ``optimizer.step``, ``zero_grad`` with the same
  ``torch.optim`` optimizer the config names.

Both include the forward and backward passes, the optimizer step and the
memory update in ``JCLHead.loss`` (``update_memories`` under
``torch.no_grad``). Neither includes image decoding or augmentation (the
batches are uint8 tensors made before timing, as ``PackReIDInputs`` and
``pseudo_collate`` give them), dataloader workers, the pseudo-label
refresh (``PseudoLabelHook`` is left out), validation or checkpoint saving
(``CheckpointHook`` is left out). Logs go to a temporary work dir at the
``WARNING`` level (the log lines are still formatted every
``logger.interval`` iterations, but not printed).

Only iterations after ``--warmup-iters`` are timed (from the end of the
last warm-up iteration to the end of the last one; with CUDA after a
``torch.cuda.synchronize``). Each case runs ``--repeat`` times,
alternating which loop goes first; the table gives the median images/s of
each, their ratio, the ratio of images per CPU-second of this process
(steadier than the wall clock on a CPU shared with other jobs; meaningless
with CUDA), and the largest difference between the losses the two loops
computed (0 on CPU: the same computation on the same batches).

Example:
    python tools/analysis_tools/benchmark_train.py --arch r18 r50 \\
        --sizes 128x64 256x128 --iters 20 --warmup-iters 5 --json out.json
"""
import argparse
import contextlib
import copy
import json
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
import uuid

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from torch.utils.data import DataLoader, Dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py')

#: Backbone depth and output channels (neck input and feature size).
ARCHS = dict(r18=(18, 512), r50=(50, 2048))

#: (option, default, help) of the integer options.
INT_OPTIONS = (
    ('--iters', 20, 'timed iterations per run'),
    ('--warmup-iters', 5, 'untimed iterations before them'),
    ('--repeat', 3, 'runs of each loop per case (alternating)'),
    ('--batch-size', 64, 'images per step'),
    ('--num-instances', 4, 'images per pseudo identity in a batch'),
    ('--num-samples', 12936, 'instance memory rows (Market-1501 train set)'),
    ('--num-clusters', 700, 'cluster memory rows'),
    ('--num-batches', 8, 'distinct pre-made batches (cycled)'),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIG,
        help='JCL config (default: the r18 synthetic one)')
    parser.add_argument(
        '--arch', nargs='+', default=['r18', 'r50'], choices=sorted(ARCHS))
    parser.add_argument(
        '--sizes',
        nargs='+',
        default=['128x64', '256x128'],
        help='input sizes, HxW')
    for option, default, text in INT_OPTIONS:
        parser.add_argument(option, type=int, default=default, help=text)
    parser.add_argument(
        '--device', choices=['auto', 'cpu', 'cuda'], default='auto')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='AmpOptimWrapper / torch.autocast + GradScaler '
        '(CUDA only)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='model.data_preprocessor.channels_last=True '
        '(model and inputs in channels-last memory format)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads (default: the config field '
        'num_threads, else torch\'s default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='write the results to this file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides, key=value')
    args = parser.parse_args(argv)
    for name in ('iters', 'repeat', 'batch_size', 'num_instances',
                 'num_samples', 'num_clusters', 'num_batches'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup_iters < 0:
        parser.error('--warmup-iters must be >= 0')
    if args.batch_size % args.num_instances:
        parser.error('--batch-size must be a multiple of --num-instances')
    if args.batch_size // args.num_instances > args.num_clusters:
        parser.error('--num-clusters must be at least --batch-size / '
                     '--num-instances')
    if args.num_samples < args.num_clusters * args.num_instances:
        parser.error('--num-samples must be at least --num-clusters x '
                     '--num-instances')
    args.sizes = [parse_size(s, parser) for s in args.sizes]
    return args


def parse_size(text, parser=None):
    """``'256x128'`` -> ``(256, 128)`` (height, width)."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
        if h > 0 and w > 0:
            return h, w
    except ValueError:
        pass
    message = f'size {text!r} is not HxW, e.g. 256x128'
    if parser is None:
        raise ValueError(message)
    parser.error(message)


def resolve_device(name):
    """The device both loops train on: mmengine's Runner moves the model to
    ``mmengine.device.get_device()``, so another device is refused."""
    from mmengine.device import get_device
    current = get_device()
    if name == 'auto':
        name = current
    if name != current:
        raise SystemExit(
            f'benchmark_train: --device {name}, but mmengine trains on '
            f'{current!r} on this machine' +
            (' (hide the GPUs with CUDA_VISIBLE_DEVICES= to benchmark the '
             'CPU)' if name == 'cpu' else ''))
    if name not in ('cpu', 'cuda'):
        raise SystemExit(f'benchmark_train: device {name!r} is not '
                         'supported (cpu or cuda)')
    return name


def check_amp(device):
    if device != 'cuda':
        raise SystemExit(
            f'benchmark_train: --amp needs CUDA; this run is on {device!r}, '
            'where mmengine\'s AmpOptimWrapper refuses to train')


def build_config(args, arch):
    """The config of one architecture, with the benchmark's options."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    depth, channels = ARCHS[arch]
    cfg.model.backbone.depth = depth
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.in_channels = channels
    cfg.model.neck.pop('out_channels', None)
    cfg.model.head.feat_dim = channels
    if args.channels_last:
        cfg.model.data_preprocessor.channels_last = True
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    return cfg


# ------------------------------------------------------------------ data
class PremadeBatches(Dataset):
    """``length`` items cycling over ``batches`` (each a whole batch,
    served by a ``DataLoader`` of batch size 1 and :func:`_only_item`)."""

    metainfo = dict()  # what the Runner hands its visualizer

    def __init__(self, batches, length):
        self.batches, self.length = batches, length

    def __len__(self):
        return self.length

    def __getitem__(self, idx):
        return self.batches[idx % len(self.batches)]


def _only_item(items):
    """Collate of one-item batches: the item (a whole batch already)."""
    return items[0]


def make_labels(num_samples, num_clusters, seed):
    """Random pseudo labels: every cluster has ``num_samples //
    num_clusters`` or one more members."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(
        rng.permutation(np.arange(num_samples) % num_clusters))


def make_batches(num_batches, batch_size, num_instances, size, labels, seed):
    """P x K batches of random uint8 (3, H, W) images, as ``pseudo_collate``
    gives them: ``dict(inputs=[...], data_samples=[ReIDDataSample])`` with
    the ``sample_idx`` of ``num_instances`` members of each of
    ``batch_size // num_instances`` clusters."""
    from jclreid.structures import ReIDDataSample
    rng = np.random.default_rng(seed + 1)
    gen = torch.Generator().manual_seed(seed + 1)
    labels = labels.numpy()
    members = [np.flatnonzero(labels == c) for c in range(labels.max() + 1)]
    usable = [c for c, m in enumerate(members) if len(m) >= num_instances]
    batches = []
    for _ in range(num_batches):
        clusters = rng.choice(
            usable, batch_size // num_instances, replace=False)
        idxs = np.concatenate([
            rng.choice(members[c], num_instances, replace=False)
            for c in clusters
        ])
        inputs = torch.randint(
            0,
            256, (batch_size, 3) + tuple(size),
            generator=gen,
            dtype=torch.uint8)
        batches.append(
            dict(
                inputs=list(inputs.unbind(0)),
                data_samples=[
                    ReIDDataSample(metainfo=dict(sample_idx=int(i)))
                    for i in idxs
                ]))
    return batches


def build_model(cfg, args, device):
    """The JCL model of ``cfg`` on ``device`` with initialised memories."""
    from jclreid.registry import MODELS
    torch.manual_seed(args.seed)
    # No init_weights(): with init_cfg=None it changes nothing, and the
    # Runner calls it on its copy (the loss column would show a change).
    model = MODELS.build(cfg.model)
    feat_dim = cfg.model.head.feat_dim
    gen = torch.Generator().manual_seed(args.seed + 2)
    feats = torch.nn.functional.normalize(
        torch.randn(args.num_samples, feat_dim, generator=gen), dim=1)
    labels = make_labels(args.num_samples, args.num_clusters, args.seed)
    model.to(device)
    model.head.reset(feats.to(device), labels.to(device), warmup=False)
    return model, labels


def _stamp(device):
    """(wall-clock, this process's CPU time) in seconds."""
    if device == 'cuda':
        torch.cuda.synchronize()
    return np.array([time.perf_counter(), time.process_time()])


# ----------------------------------------------------------------- loops
def plain_loop(model, cfg, batches, args, device):
    """Train ``model`` on ``batches`` in plain PyTorch; returns ((wall,
    CPU) seconds of the timed iterations, loss tensors)."""
    wrapper = cfg.optim_wrapper
    extra = set(wrapper) - {'type', 'optimizer', 'clip_grad', 'loss_scale'}
    if extra:
        raise SystemExit('benchmark_train: the plain loop does not '
                         f'implement optim_wrapper fields {sorted(extra)}')
    opt_cfg = dict(wrapper.optimizer)
    optimizer = getattr(torch.optim, opt_cfg.pop('type'))(model.parameters(),
                                                          **opt_cfg)
    clip = wrapper.get('clip_grad')
    pre = cfg.model.data_preprocessor
    mean = torch.tensor(pre.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, device=device).view(1, -1, 1, 1)
    to_rgb = pre.get('to_rgb', True)
    scaler = torch.amp.GradScaler('cuda') if args.amp else None
    autocast = (
        torch.autocast('cuda', dtype=torch.float16)
        if args.amp else contextlib.nullcontext())
    model.train()
    losses = []
    start = None
    torch.manual_seed(args.seed)
    if args.warmup_iters == 0:
        start = _stamp(device)
    for i, batch in enumerate(batches):
        x = torch.stack(batch['inputs']).to(device, non_blocking=True)
        with autocast:
            if to_rgb:
                x = x.flip(1)
            x = x.float().sub_(mean).div_(std)
            if args.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss_dict = model(x, batch['data_samples'], mode='loss')
        loss = sum(loss_dict.values())
        if scaler is not None:
            scaler.scale(loss).backward()
            if clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), **clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), **clip)
            optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach())
        if i + 1 == args.warmup_iters:
            start = _stamp(device)
    return _stamp(device) - start, losses


class IterClock(Hook):
    """Reseeds torch before the first iteration (as the plain loop does),
    timestamps the end of the warm-up and of the last iteration, after the
    other hooks (lowest priority), and keeps the losses."""

    priority = 'LOWEST'

    def __init__(self, warmup_iters, total_iters, seed, device):
        self.warmup_iters, self.total_iters = warmup_iters, total_iters
        self.seed, self.device = seed, device
        self.start = self.end = None
        self.losses = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            torch.manual_seed(self.seed)
            if self.warmup_iters == 0:
                self.start = _stamp(self.device)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append(outputs['loss'].detach())
        if batch_idx + 1 == self.warmup_iters:
            self.start = _stamp(self.device)
        if batch_idx + 1 == self.total_iters:
            self.end = _stamp(self.device)


def mmengine_loop(model, cfg, batches, args, device, work_dir):
    """Train ``model`` on ``batches`` with the toolbox's Runner; returns
    ((wall, CPU) seconds of the timed iterations, loss tensors)."""
    from jclreid.engine import SafeCheckpointRunner
    hooks = copy.deepcopy(cfg.get('default_hooks', {}))
    hooks['checkpoint'] = None  # mmengine's way to drop a default hook
    hooks.pop('pseudo_label', None)
    clock = IterClock(args.warmup_iters, len(batches), args.seed, device)
    # One pre-made batch per step; mmengine's hooks expect a batch sampler.
    loader = DataLoader(
        PremadeBatches(batches, len(batches)),
        batch_size=1,
        shuffle=False,
        num_workers=0,
        collate_fn=_only_item)
    runner = SafeCheckpointRunner(
        model=model,
        work_dir=work_dir,
        experiment_name=f'benchmark_train_{uuid.uuid4().hex[:8]}',
        train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=copy.deepcopy(cfg.optim_wrapper),
        param_scheduler=copy.deepcopy(cfg.get('param_scheduler')),
        default_hooks=hooks,
        custom_hooks=[clock],
        log_processor=copy.deepcopy(cfg.get('log_processor')),
        env_cfg=copy.deepcopy(cfg.get('env_cfg', dict())),
        randomness=copy.deepcopy(cfg.get('randomness', dict(seed=None))),
        default_scope=cfg.get('default_scope', 'jclreid'),
        log_level='WARNING')
    runner.train()
    for handler in list(runner.logger.handlers):  # close the log file
        if hasattr(handler, 'baseFilename'):
            handler.close()
            runner.logger.removeHandler(handler)
    return clock.end - clock.start, clock.losses


# ------------------------------------------------------------------ cases
def run_case(args, arch, size, device):
    """Both loops, ``args.repeat`` times each; returns the result dict."""
    cfg = build_config(args, arch)
    base, labels = build_model(cfg, args, device)
    batches = make_batches(args.num_batches, args.batch_size,
                           args.num_instances, size, labels, args.seed)
    total = args.warmup_iters + args.iters
    sequence = [batches[i % len(batches)] for i in range(total)]
    times = dict(plain=[], mmengine=[])
    max_diff = 0.0
    with tempfile.TemporaryDirectory(prefix='benchmark_train_') as tmp:
        for rep in range(args.repeat):
            order = ('plain', 'mmengine') if rep % 2 == 0 else ('mmengine',
                                                                'plain')
            losses = {}
            for side in order:
                model = copy.deepcopy(base)
                if side == 'plain':
                    seconds, out = plain_loop(model, cfg, sequence, args,
                                              device)
                else:
                    seconds, out = mmengine_loop(model, cfg, sequence,
                                                 args, device,
                                                 osp.join(tmp, f'{rep}'))
                times[side].append(seconds)
                losses[side] = torch.stack(out).float().cpu()
                del model
            max_diff = max(
                max_diff,
                float((losses['plain'] - losses['mmengine']).abs().max()))
    images = args.batch_size * args.iters
    ips = {k: [images / t[0] for t in v] for k, v in times.items()}
    cpu_ips = {k: [images / t[1] for t in v] for k, v in times.items()}
    result = dict(
        arch=arch,
        size=f'{size[0]}x{size[1]}',
        batch_size=args.batch_size,
        iters=args.iters,
        warmup_iters=args.warmup_iters,
        repeat=args.repeat,
        max_loss_diff=max_diff,
        losses={
            k: v.tolist()
            for k, v in losses.items()
        })  # last repeat
    for key, runs in (('', ips), ('cpu_', cpu_ips)):
        plain = statistics.median(runs['plain'])
        mm = statistics.median(runs['mmengine'])
        result.update({
            f'plain_{key}images_per_s':
            plain,
            f'mmengine_{key}images_per_s':
            mm,
            f'{key}ratio':
            mm / plain,
            f'{key}paired_ratios':
            [m / p for m, p in zip(runs['mmengine'], runs['plain'])],
            f'plain_{key}runs':
            runs['plain'],
            f'mmengine_{key}runs':
            runs['mmengine'],
        })
    return result


def format_table(results):
    """Markdown table: median images/s (wall clock) of both loops, their
    ratio, the ratio of images per CPU-second of this process (robust to
    other processes on a shared CPU; meaningless with CUDA) and the largest
    loss difference."""
    lines = [
        '| arch | input (HxW) | batch | plain (img/s) | mmengine (img/s) | '
        'mmengine / plain | mmengine / plain (CPU time) | max abs loss diff '
        '|',
        '|---|---|---|---|---|---|---|---|',
    ]
    for r in results:
        lines.append(f'| {r["arch"]} | {r["size"]} | {r["batch_size"]} | '
                     f'{r["plain_images_per_s"]:.1f} | '
                     f'{r["mmengine_images_per_s"]:.1f} | {r["ratio"]:.3f} | '
                     f'{r["cpu_ratio"]:.3f} | {r["max_loss_diff"]:.1e} |')
    return '\n'.join(lines)


def machine_info(device):
    info = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        device=device,
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine())
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    if device == 'cuda':
        info['gpu'] = torch.cuda.get_device_name()
    return info


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from jclreid.utils import apply_num_threads, register_all_modules
    register_all_modules(init_default_scope=False)
    device = resolve_device(args.device)
    if args.amp:
        check_amp(device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    else:
        apply_num_threads(Config.fromfile(args.config))
    results = []
    for arch in args.arch:
        for size in args.sizes:
            result = run_case(args, arch, size, device)
            results.append(result)
            print(
                f'{arch} {result["size"]}: plain '
                f'{result["plain_images_per_s"]:.1f} img/s, mmengine '
                f'{result["mmengine_images_per_s"]:.1f} img/s, ratio '
                f'{result["ratio"]:.3f} (CPU time {result["cpu_ratio"]:.3f})',
                flush=True)
    info = machine_info(device)
    print()
    print(format_table(results))
    print()
    print(f'{info["cpu"]}; device {device}; torch {info["torch"]}, '
          f'{info["threads"]} thread(s); amp={args.amp}, '
          f'channels_last={args.channels_last}')
    if args.json:
        out = dict(
            machine=info,
            args=dict(vars(args), sizes=[f'{h}x{w}' for h, w in args.sizes]),
            results=results)
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=2)
    return results


if __name__ == '__main__':
    main()
