# JCL on a folder of your own image tiles (remote-sensing scenes), no labels:
# the recipe of jcl_r18_synthetic_scenes.py (ResNet-18 at 64x64 from random
# initialisation, instance warm-up, then joint training; no camera filter)
# over UnlabeledFolder. Point it at your folder with one override:
#   python tools/train.py configs/jcl/jcl_r18_unlabeled_scenes.py \
#       --cfg-options train_dataloader.dataset.data_root=path/to/tiles
# Every image under the folder (sub-folders included) is a sample; folder
# names are not labels. There is no evaluation: the pseudo-label statistics
# logged at every refresh show the progress; then tools/group_images.py
# groups the tiles with the trained checkpoint.
_base_ = ['./jcl_r18_synthetic_scenes.py']

# The synthetic tiles are all 64x64; your own may be of any size, so both
# pipelines resize them first (to another size: change img_scale here).
img_scale = (64, 64)  # (w, h)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
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
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackReIDInputs'),
]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledFolder',
        data_root='data/my_scene_tiles',
        pipeline=train_pipeline))

# No labels, so no validation or test (all three fields of each are None).
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
custom_hooks = []

# The pseudo-label hook reads its extraction pipeline from the test
# dataloader by default; state it, since there is none.
default_hooks = dict(pseudo_label=dict(pipeline=test_pipeline))
