# Copyright (c) jclreid contributors. All rights reserved.
"""PseudoLabelHook in a real mmengine Runner on a tiny synthetic dataset."""
import copy
import re

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from jclreid.engine.hooks import PseudoLabelHook

IMG = (32, 16)
PIPE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(16, 32), keep_ratio=False),
    dict(type='PackReIDInputs'),
]


def tiny_cfg(work_dir,
             data_root,
             warmup_epochs=1,
             eps=0.7,
             max_epochs=2,
             min_samples=2,
             pipeline=PIPE):
    data = dict(
        type='SyntheticReID',
        data_root=str(data_root),
        num_train_ids=8,
        num_test_ids=6,
        num_cameras=3,
        num_distractors=2,
        img_size=IMG)
    return dict(
        default_scope='jclreid',
        work_dir=str(work_dir),
        model=dict(
            type='JCL',
            backbone=dict(type='ReIDResNet', depth=18, wam=dict(stages=(2, ))),
            neck=dict(type='ReIDNeck', in_channels=512, pooling='avg'),
            head=dict(
                type='JCLHead',
                feat_dim=512,
                loss=dict(
                    type='JointContrastLoss',
                    instance_loss=dict(
                        type='InstanceContrastLoss', k_neg=10)))),
        train_dataloader=dict(
            batch_size=8,
            num_workers=0,
            sampler=dict(
                type='PseudoIdentitySampler',
                batch_size=8,
                num_instances=2,
                iters_per_epoch=2),
            dataset=dict(data, split='train', pipeline=PIPE)),
        val_dataloader=dict(
            batch_size=16,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(data, split='test', pipeline=PIPE)),
        val_evaluator=dict(type='ReIDMetric'),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        custom_hooks=[
            dict(
                type='PseudoLabelHook',
                pipeline=pipeline,
                warmup_epochs=warmup_epochs,
                batch_size=16,
                label_generator=dict(
                    type='LabelGenerator',
                    distance=dict(type='JaccardDistance', k1=6, k2=2),
                    clusterer=dict(
                        type='DBSCANClusterer', eps=eps,
                        min_samples=min_samples),
                    filters=[dict(type='CameraAwareFilter')]))
        ],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
    )


def _hook(runner):
    return next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))


def test_hook_refreshes_labels_and_memories(tmp_path):
    runner = Runner.from_cfg(
        tiny_cfg(tmp_path / 'work', tmp_path / 'data', eps=0.9))
    runner.train()
    hook = _hook(runner)
    head = runner.model.head
    n = len(runner.train_dataloader.dataset)
    assert hook.labels is not None and hook.labels.shape == (n, )
    assert head.is_initialized and not head.warmup
    assert torch.equal(head.labels.cpu(), torch.as_tensor(hook.labels))
    assert head.instance_memory.features.shape == (n, 512)
    assert head.cluster_memory.features.shape[0] == hook.summary[
        'num_clusters']
    assert np.array_equal(runner.train_dataloader.sampler.labels, hook.labels)
    assert 'gt_nmi' in hook.summary and 'num_outliers' in hook.summary
    # Ground truth never reaches the labels: they are 0..C-1 / -1.
    assert set(np.unique(hook.labels)) <= set(range(-1, n))
    import glob
    import json
    files = glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                          'scalars.json'))
    with open(files[0]) as f:
        records = [json.loads(line) for line in f]
    logged = [r for r in records if 'pseudo_label/num_clusters' in r]
    assert [r['step'] for r in logged] == [0, 1]
    # Progress of the extraction and the clustering stages' timings are in
    # the log file, not only on the terminal.
    log = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]
    with open(log) as f:
        text = f.read()
    # Batches of 16 (3 for the 47 train images): a progress line after
    # every batch but the last (about ten lines per extraction), then the
    # total; once per refresh (epochs 0 and 1).
    assert n == 47
    for done in (16, 32):
        assert text.count(
            f'Pseudo labels: extracting features {done}/{n} (') == 2
    assert text.count(f'Pseudo labels: extracted features of {n} images '
                      'in ') == 2
    # The warm-up epoch does not cluster; epoch 1 does, stage by stage.
    clustered = re.findall(
        r'Pseudo labels: clustered (\d+) features in [\d.]+ s \((.*)\)',
        text)
    assert len(clustered) == 1 and clustered[0][0] == str(n)
    stages = re.findall(r'(?:^|, )(.+?) \d+\.\d\d s(?=, |$)',
                        clustered[0][1])
    assert stages == [
        'JaccardDistance', 'DBSCANClusterer', 'CameraAwareFilter'
    ]


def test_warmup_uses_every_sample(tmp_path):
    # pipeline=None: the config has no test_dataloader, so the hook takes
    # val_dataloader.dataset.pipeline.
    cfg = tiny_cfg(tmp_path / 'w', tmp_path / 'data', warmup_epochs=5,
                   max_epochs=1, pipeline=None)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = _hook(runner)
    assert runner.model.head.warmup
    assert hook.labels.tolist() == list(range(len(hook.labels)))
    assert hook.pipeline == PIPE
    import glob
    log = glob.glob(str(tmp_path / 'w' / '*' / '*.log'))[0]
    with open(log) as f:
        text = f.read()
    assert ('Effective batch: world size 1 x per-rank batch 8 = global '
            'batch 8; sampler: ') in text
    assert text.count('Effective batch') == 1


def test_pipeline_none_resolves_from_test_then_val_dataloader():
    from mmengine.config import Config
    from mmengine.dataset import Compose
    test_pipe = [dict(type='PackReIDInputs')]
    cfg = Config(
        dict(
            test_dataloader=dict(dataset=dict(pipeline=test_pipe)),
            val_dataloader=dict(dataset=dict(pipeline=PIPE))))
    assert PseudoLabelHook.resolve_pipeline(cfg) == test_pipe
    assert PseudoLabelHook.resolve_pipeline(
        dict(test_dataloader=None,
             val_dataloader=dict(dataset=dict(pipeline=PIPE)))) == PIPE
    # A built dataloader (Runner(test_dataloader=DataLoader(...))).
    from types import SimpleNamespace
    built = Compose(test_pipe)
    loader = SimpleNamespace(dataset=SimpleNamespace(pipeline=built))
    assert PseudoLabelHook.resolve_pipeline(
        dict(test_dataloader=loader)) == built.transforms
    with pytest.raises(KeyError) as err:
        PseudoLabelHook.resolve_pipeline(
            Config(dict(train_dataloader=dict(dataset=dict(pipeline=PIPE)))))
    assert 'test_dataloader.dataset.pipeline' in str(err.value)
    assert 'val_dataloader.dataset.pipeline' in str(err.value)


def test_describe_global_batch_uses_sampler_describe_or_pk():
    from types import SimpleNamespace

    from jclreid.utils.dist import describe_global_batch
    loader = SimpleNamespace(
        batch_size=16,
        sampler=SimpleNamespace(batch_size=16, num_instances=4))
    line = describe_global_batch(loader)
    assert line == ('Effective batch: world size 1 x per-rank batch 16 = '
                    'global batch 16; sampler: P x K = 4 x 4 per rank (4 '
                    'identities per global batch)')
    loader.sampler.describe = lambda: 'P x K = 4 x 4, as the sampler says'
    assert describe_global_batch(loader).endswith(
        'sampler: P x K = 4 x 4, as the sampler says')


def test_default_label_generator_is_label_generators_default():
    from jclreid.clustering.label_generator import LabelGenerator
    gen = PseudoLabelHook().label_generator
    ref = LabelGenerator()
    assert type(gen) is LabelGenerator
    assert (gen.distance.k1, gen.distance.k2) == (ref.distance.k1,
                                                  ref.distance.k2) == (30, 6)
    assert (gen.clusterer.eps, gen.clusterer.min_samples) == (0.6, 4)
    assert [type(f).__name__ for f in gen.filters] == ['CameraAwareFilter']
    assert gen.filters[0].min_cameras == 2


def test_zero_clusters_is_a_clear_error(tmp_path):
    cfg = tiny_cfg(tmp_path / 'z', tmp_path / 'data', warmup_epochs=0,
                   eps=0.01, min_samples=100)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match='eps'):
        runner.train()


def test_resume_refreshes_memories(tmp_path):
    cfg = tiny_cfg(tmp_path / 'r', tmp_path / 'data', eps=0.9)
    Runner.from_cfg(copy.deepcopy(cfg)).train()
    cfg2 = copy.deepcopy(cfg)
    cfg2['train_cfg']['max_epochs'] = 3
    cfg2['resume'] = True
    cfg2['load_from'] = str(tmp_path / 'r' / 'epoch_2.pth')
    runner = Runner.from_cfg(cfg2)
    runner.train()
    assert runner.model.head.is_initialized
    assert runner.train_loop.epoch == 3


def test_refresh_schedule(monkeypatch):
    """Warm-up epochs refresh every epoch; then every `interval` epochs; an
    uninitialised head (after resume) forces a refresh."""
    from types import SimpleNamespace
    hook = PseudoLabelHook(pipeline=PIPE, warmup_epochs=2, interval=3)
    refreshed = []
    head = SimpleNamespace(is_initialized=False)

    def fake_refresh(runner):
        refreshed.append(runner.epoch)
        head.is_initialized = True

    monkeypatch.setattr(hook, 'refresh', fake_refresh)
    model = SimpleNamespace(head=head)
    for epoch in range(10):
        hook.before_train_epoch(SimpleNamespace(epoch=epoch, model=model))
    assert refreshed == [0, 1, 2, 5, 8]
    # Resume at epoch 4: memories are not in the checkpoint.
    refreshed.clear()
    head.is_initialized = False
    hook.before_train_epoch(SimpleNamespace(epoch=4, model=model))
    assert refreshed == [4]
    with pytest.raises(ValueError, match='interval'):
        PseudoLabelHook(pipeline=PIPE, interval=0)


def test_extraction_in_inference_mode_then_a_train_step(tmp_path):
    """The refresh extracts under torch.inference_mode; the memories it
    fills are ordinary tensors, so the next training step (autograd
    through the memories' similarities) works."""
    runner = Runner.from_cfg(
        tiny_cfg(tmp_path / 'i', tmp_path / 'data', eps=0.9))
    runner.train()
    hook = _hook(runner)
    model = runner.model
    modes = []
    backbone_forward = model.backbone.forward

    def spy(x):
        modes.append(torch.is_inference_mode_enabled())
        return backbone_forward(x)

    model.backbone.forward = spy
    features = hook.extract_features(runner)
    assert modes and all(modes)
    assert not features.is_inference()
    hook.refresh(runner)  # not warm-up: both memories refilled
    head = model.head
    assert not head.warmup
    for tensor in (head.instance_memory.features,
                   head.cluster_memory.features, head.labels):
        assert not tensor.is_inference()
    modes.clear()
    batch = next(iter(runner.train_dataloader))
    before = model.backbone.conv1.weight.detach().clone()
    log_vars = model.train_step(batch, runner.optim_wrapper)
    assert modes == [False]
    assert {'loss_cluster', 'loss_instance'} <= set(log_vars)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(before, model.backbone.conv1.weight)


def test_label_generator_times_its_stages():
    """``LabelGenerator.stage_seconds``: each stage of the last call, in
    call order; timing leaves labels and summary unchanged."""
    from jclreid.clustering import LabelGenerator
    gen = LabelGenerator(
        distance=dict(type='JaccardDistance', k1=6, k2=2),
        clusterer=dict(type='DBSCANClusterer', eps=0.6, min_samples=2))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16))
    feats = (centres[np.arange(60) % 6] +
             0.2 * rng.normal(size=(60, 16))).astype(np.float32)
    camids = (np.arange(60) // 6) % 3  # every cluster spans 3 cameras
    first = gen(feats, camids)
    assert list(gen.stage_seconds) == [
        'JaccardDistance', 'DBSCANClusterer', 'CameraAwareFilter'
    ]
    assert all(v >= 0 for v in gen.stage_seconds.values())
    labels, summary = gen(feats, camids)
    assert np.array_equal(labels, first[0]) and summary == first[1]
    assert summary['num_clusters'] > 0


def test_progress_interval_is_checked():
    with pytest.raises(ValueError, match='progress_interval'):
        PseudoLabelHook(pipeline=PIPE, progress_interval=0)
