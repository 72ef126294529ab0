# JCL on UC Merced scenes: one "camera", so the camera-aware filter is off;
# scored by k-means ACC / NMI / ARI, retrieval mAP and a kNN probe.
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/ucm.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/pseudo_label.py',
]

model = dict(backbone=dict(last_stride=2))

default_hooks = dict(
    pseudo_label=dict(
        label_generator=dict(distance=dict(k1=20), filters=[])))
