# UC Merced Land Use (21 class folders of 256x256 .tif), 80/20 stratified
# split.
dataset_type = 'SceneFolder'
data_root = 'data/UCMerced_LandUse/Images'
split_file = 'data/splits/ucm_seed0_train0.8.json'
img_scale = (224, 224)  # (w, h)
batch_size = 64  # per GPU
num_instances = 4

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PadRandomCrop', padding=16, padding_mode='reflect'),
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2),
    dict(type='RandomErasing', prob=0.3, fill='mean'),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
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
        iters_per_epoch=100),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        seed=0,
        train_ratio=0.8,
        split_file=split_file,
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
        seed=0,
        train_ratio=0.8,
        split_file=split_file,
        pipeline=test_pipeline))
val_evaluator = dict(type='SceneMetric', knn_k=10)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
