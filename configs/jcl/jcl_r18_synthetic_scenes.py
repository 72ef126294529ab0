# JCL from random initialisation on the embedded synthetic aerial scenes, on
# CPU: one "camera", so the camera-aware filter is off; instance warm-up,
# then joint training; scored by k-means ACC / NMI / ARI and retrieval mAP.
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/synthetic_scenes.py',
    '../_base_/default_runtime.py',
]

num_threads = 1

model = dict(
    backbone=dict(depth=18, last_stride=2, init_cfg=None),
    neck=dict(in_channels=512, pooling='avg'),
    head=dict(feat_dim=512))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[15], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=5)
val_cfg = dict()
test_cfg = dict()

custom_hooks = [
    dict(type='ValBeforeTrainHook'),
    dict(
        type='PseudoLabelHook',
        pipeline=_base_.test_pipeline,  # noqa: F821
        warmup_epochs=5,
        batch_size=128,
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=20, k2=6),
            clusterer=dict(type='DBSCANClusterer', eps=0.5, min_samples=4),
            filters=[])),
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
