# JCL on MSMT17: DBSCAN eps 0.7, 400 iterations per epoch.
_base_ = ['./jcl_r50_market.py']

train_dataloader = dict(
    sampler=dict(iters_per_epoch=400),
    dataset=dict(type='MSMT17', data_root='data/msmt17'))
val_dataloader = dict(dataset=dict(type='MSMT17', data_root='data/msmt17'))
test_dataloader = val_dataloader

custom_hooks = [
    dict(
        type='PseudoLabelHook',
        pipeline=_base_.test_pipeline,  # noqa: F821
        batch_size=128,
        num_workers=4,
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=30, k2=6),
            clusterer=dict(type='DBSCANClusterer', eps=0.7, min_samples=4),
            filters=[dict(type='CameraAwareFilter', min_cameras=2)])),
]
