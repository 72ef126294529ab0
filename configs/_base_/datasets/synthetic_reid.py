# Embedded synthetic pedestrians (generated into data/ on first use) at
# 64x32, sized for a 2-core CPU.
dataset_type = 'SyntheticReID'
data_root = 'data/synthetic_reid'
img_scale = (32, 64)  # (w, h)
batch_size = 64
num_instances = 4

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PadRandomCrop', padding=4),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3,
         hue=0.05),
    dict(type='RandomErasing', prob=0.5, fill='mean'),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
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
        iters_per_epoch=20),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
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
        pipeline=test_pipeline))
val_evaluator = dict(type='ReIDMetric', metric='cosine')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
