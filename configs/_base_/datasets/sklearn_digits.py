# scikit-learn's 1,797 handwritten digits (10 classes, real 8x8 grey images
# shipped with scikit-learn), written into data/ on first use as 32x32 class
# folders; 60/40 stratified split. No flips or hue jitter (a flipped digit is
# another symbol or none): small scale changes, translations, contrast and
# erasing.
dataset_type = 'SklearnDigits'
data_root = 'data/sklearn_digits'
img_size = 32
train_ratio = 0.6
batch_size = 64
num_instances = 4

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResize',
        scale=(img_size, img_size),
        ratio_range=(0.8, 1.2),
        keep_ratio=True),
    dict(
        type='CenterCrop',
        crop_size=img_size,
        auto_pad=True,
        pad_cfg=dict(type='Pad', pad_val=dict(img=0))),
    dict(type='PadRandomCrop', padding=4),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3),
    dict(type='RandomErasing', prob=0.3, area_ratio=(0.02, 0.2), fill=0),
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
        img_size=img_size,
        split='train',
        train_ratio=train_ratio,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        img_size=img_size,
        split='test',
        train_ratio=train_ratio,
        pipeline=test_pipeline))
val_evaluator = dict(type='SceneMetric', knn_k=10)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
