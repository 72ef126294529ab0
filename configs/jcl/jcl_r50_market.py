# JCL on Market-1501 (paper set-up): ResNet-50 + WAM, GeM, 4 GPUs x 64 images
# (16 pseudo identities x 16 images in all), Adam 3.5e-4, 50 epochs,
# DBSCAN eps 0.6 on k-reciprocal Jaccard distances (k1 30, k2 6), camera-aware
# filter, temperature 0.05.
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/market1501.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [
    dict(
        type='PseudoLabelHook',
        pipeline=_base_.test_pipeline,  # noqa: F821
        interval=1,
        warmup_epochs=0,
        batch_size=128,
        num_workers=4,
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=30, k2=6),
            clusterer=dict(type='DBSCANClusterer', eps=0.6, min_samples=4),
            filters=[dict(type='CameraAwareFilter', min_cameras=2)])),
]
