# JCL on DukeMTMC-reID: the Market-1501 recipe with DBSCAN eps 0.7.
_base_ = ['./jcl_r50_market.py']

data = dict(type='DukeMTMCReID', data_root='data/dukemtmc-reid')
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader

custom_hooks = _base_.custom_hooks  # noqa: F821
custom_hooks[0].label_generator.clusterer.eps = 0.7
