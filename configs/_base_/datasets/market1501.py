# Market-1501 at 256x128, Cluster Contrast's recipe: 16 pseudo identities x
# 16 images per step, split over the processes by tools/train.py
# (4 GPUs x 64, or 1 GPU x 256).
dataset_type = 'Market1501'
data_root = 'data/market1501'
img_scale = (128, 256)  # (w, h)
global_batch_size = 256  # P x K = 16 x 16 in all
batch_size = 64  # per process; tools/train.py derives it from the above
num_instances = 16

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PadRandomCrop', padding=10),
    dict(type='RandomErasing', prob=0.5, fill='mean'),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='PackReIDInputs'),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='PseudoIdentitySampler',
        batch_size=batch_size,
        num_instances=num_instances,
        iters_per_epoch=200),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
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
