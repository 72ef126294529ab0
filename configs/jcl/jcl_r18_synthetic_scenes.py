# JCL from random initialisation on the embedded synthetic aerial scenes, on
# CPU: one "camera", so the camera-aware filter is off; instance warm-up,
# then joint training; scored by k-means ACC / NMI / ARI and retrieval mAP.
_base_ = [
    '../_base_/models/jcl_r18_cpu.py',
    '../_base_/datasets/synthetic_scenes.py',
    '../_base_/pseudo_label.py',
]

num_threads = 1

model = dict(backbone=dict(last_stride=2))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[15], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=5)
val_cfg = dict()
test_cfg = dict()

custom_hooks = [dict(type='ValBeforeTrainHook')]

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=5, max_keep_ckpts=2),
    pseudo_label=dict(
        warmup_epochs=5,
        num_workers=0,
        label_generator=dict(
            distance=dict(k1=20), clusterer=dict(eps=0.5), filters=[])))
