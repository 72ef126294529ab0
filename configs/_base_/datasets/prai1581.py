# PRAI-1581 (aerial persons, two UAVs) at 256x128: the Market-1501 set-up on
# the PRAI-1581 layout (images/ + partitions.pkl, see docs/en/datasets.md).
_base_ = ['./market1501.py']

dataset_type = 'PRAI1581'
data_root = 'data/PRAI-1581'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
