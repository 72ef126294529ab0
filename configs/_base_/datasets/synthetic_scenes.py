# Embedded synthetic aerial scenes (10 classes, generated into data/ on first
# use) at 64x64, 60/40 stratified split.
dataset_type = 'SyntheticScenes'
data_root = 'data/synthetic_scenes'
img_scale = (64, 64)
batch_size = 64
num_instances = 4

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PadRandomCrop', padding=6, padding_mode='reflect'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3,
         hue=0.05),
    dict(type='RandomErasing', prob=0.3, fill='mean'),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackReIDInputs'),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(
        type='PseudoIdentitySampler',
        batch_size=batch_size,
        num_instances=num_instances,
        iters_per_epoch=10),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        train_ratio=0.6,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        train_ratio=0.6,
        pipeline=test_pipeline))
val_evaluator = dict(type='SceneMetric', knn_k=10)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
