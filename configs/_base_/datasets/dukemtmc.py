# DukeMTMC-reID at 256x128: the Market-1501 set-up on another folder.
_base_ = ['./market1501.py']

dataset_type = 'DukeMTMCReID'
data_root = 'data/dukemtmc-reid'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
