# JCL on DukeMTMC-reID: the Market-1501 recipe with DBSCAN eps 0.7.
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/dukemtmc.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/pseudo_label.py',
]

default_hooks = dict(
    pseudo_label=dict(label_generator=dict(clusterer=dict(eps=0.7))))
