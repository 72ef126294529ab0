# Copyright (c) jclreid contributors. All rights reserved.
"""End to end: tools/train.py on the synthetic config, tiny sizes, CPU; the
validation mAP after training is above the one before training; then
tools/test.py scores the checkpoint and dumps the predictions."""
import glob
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

from _free_port import free_port

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _test_map(proc) -> float:
    """mAP printed by tools/test.py (``Epoch(test) ... reid/mAP: x``)."""
    out = proc.stdout + proc.stderr
    found = re.findall(r'Epoch\(test\).*?reid/mAP: ([0-9.]+)', out)
    assert found, out[-3000:]
    return float(found[-1])


def _data_options(data_root):
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        prefix = f'{loader}.dataset.'
        opts += [
            f'{prefix}data_root={data_root}', f'{prefix}num_train_ids=40',
            f'{prefix}num_test_ids=30', f'{prefix}num_cameras=4',
            f'{prefix}num_distractors=10'
        ]
    return opts + [f'{loader}.num_workers=0'
                   for loader in ('train_dataloader', 'val_dataloader',
                                  'test_dataloader')] + [
        f'{loader}.persistent_workers=False'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]


def test_synthetic_training_raises_map(tmp_path):
    work = str(tmp_path / 'work')
    data_root = str(tmp_path / 'data')
    opts = _data_options(data_root) + [
        # 20 steps an epoch: the main job's non-local WAM starts as the
        # identity and needs them (12 steps: +2 mAP; 20: +31 at seed 0).
        'train_dataloader.sampler.iters_per_epoch=20',
        'train_dataloader.batch_size=32',
        'train_dataloader.sampler.batch_size=32',
        'default_hooks.pseudo_label.warmup_epochs=4',
        'train_cfg.max_epochs=8', 'train_cfg.val_interval=8',
        'default_hooks.checkpoint.interval=8',
    ]
    _run([osp.join(ROOT, 'tools', 'train.py'),
          osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'),
          '--work-dir', work, '--cfg-options'] + opts, cwd=str(tmp_path))
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    assert len(scalars) == 1
    with open(scalars[0]) as f:
        records = [json.loads(line) for line in f]
    maps = [r['reid/mAP'] for r in records if 'reid/mAP' in r]
    assert len(maps) == 2, maps  # before training and after the last epoch
    assert maps[1] > maps[0] + 10, maps
    pseudo = [r for r in records if 'pseudo_label/num_clusters' in r]
    assert pseudo, 'pseudo-label summaries are logged'

    ckpt = osp.join(work, 'epoch_8.pth')
    dump = str(tmp_path / 'preds.pkl')
    proc = _run([osp.join(ROOT, 'tools', 'test.py'),
                 osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'),
                 ckpt, '--work-dir', str(tmp_path / 'test'), '--dump', dump,
                 '--cfg-options'] + _data_options(data_root),
                cwd=str(tmp_path))
    # The validation logged at the end of training is what tools/test.py
    # gives for the saved checkpoint.
    assert abs(_test_map(proc) - maps[1]) < 1e-3, (_test_map(proc), maps)
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    n = len(preds['pids'])
    assert preds['features'].shape[0] == n and n > 0
    q = preds['is_query'].sum()
    assert preds['ranking'].shape[0] == q
    assert all(p.endswith('.jpg') for p in preds['img_paths'])


def test_dist_train_two_cpu_processes(tmp_path):
    """tools/dist_train.sh with 2 processes on CPU (gloo): sharded feature
    extraction, label broadcast, all-gathered memories, distributed
    validation."""
    port = free_port()
    work = str(tmp_path / 'work')
    opts = _data_options(str(tmp_path / 'data')) + [
        'train_dataloader.sampler.iters_per_epoch=2',
        'train_dataloader.batch_size=16',
        'train_dataloader.sampler.batch_size=16',
        'default_hooks.pseudo_label.warmup_epochs=1', 'train_cfg.max_epochs=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(port),
               PYTHON=sys.executable, PYTHONPATH=ROOT)
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'),
         osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'), '2',
         '--work-dir', work, '--cfg-options'] + opts,
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=600)
    out = proc.stdout + proc.stderr
    # Both tails: the log (stdout) says how far the run got, stderr why it
    # stopped.
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert 'Distributed training: True' in out
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        records = [json.loads(line) for line in f]
    assert len([r for r in records if 'reid/mAP' in r]) == 2
    clustered = [r for r in records if 'pseudo_label/gt_nmi' in r]
    assert clustered and clustered[-1]['pseudo_label/num_samples'] > 0
    # Every rank validated with rank 0's BatchNorm buffers: the logged
    # validation equals a 1-process tools/test.py on the checkpoint.
    logged = [r['reid/mAP'] for r in records if 'reid/mAP' in r][-1]
    proc = _run([osp.join(ROOT, 'tools', 'test.py'),
                 osp.join(ROOT, 'configs', 'jcl', 'jcl_r18_synthetic.py'),
                 osp.join(work, 'epoch_2.pth'), '--work-dir',
                 str(tmp_path / 'test'), '--cfg-options'] +
                _data_options(str(tmp_path / 'data')), cwd=str(tmp_path))
    assert abs(_test_map(proc) - logged) < 1e-3, (_test_map(proc), logged)
