# JCL on MSMT17: the Market-1501 recipe with DBSCAN eps 0.7 and 400
# iterations per epoch.
_base_ = ['./jcl_r50_market.py']

data = dict(type='MSMT17', data_root='data/msmt17')
train_dataloader = dict(sampler=dict(iters_per_epoch=400), dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader

custom_hooks = _base_.custom_hooks  # noqa: F821
custom_hooks[0].label_generator.clusterer.eps = 0.7
