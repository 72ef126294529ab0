# JCL on UC Merced scenes: one "camera", so the camera-aware filter is off;
# scored by k-means ACC / NMI / ARI, retrieval mAP and a kNN probe.
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/ucm.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(last_stride=2))

custom_hooks = [
    dict(
        type='PseudoLabelHook',
        pipeline=_base_.test_pipeline,  # noqa: F821
        batch_size=128,
        num_workers=4,
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=20, k2=6),
            clusterer=dict(type='DBSCANClusterer', eps=0.6, min_samples=4),
            filters=[])),
]
