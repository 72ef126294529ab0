# JCL on AID scenes (30 class folders of 600x600 .jpg), 50/50 split.
_base_ = ['./jcl_r50_ucm.py']

data_root = 'data/AID'
split_file = 'data/splits/aid_seed0_train0.5.json'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root, train_ratio=0.5, split_file=split_file),
    sampler=dict(iters_per_epoch=200))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root, train_ratio=0.5, split_file=split_file))
test_dataloader = val_dataloader
