# MSMT17 at 256x128: the Market-1501 set-up, 400 iterations per epoch.
_base_ = ['./market1501.py']

dataset_type = 'MSMT17'
data_root = 'data/msmt17'
train_dataloader = dict(
    sampler=dict(iters_per_epoch=400),
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
