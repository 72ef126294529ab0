# JCL on Market-1501 (paper set-up, Cluster Contrast's recipe): ResNet-50 +
# WAM, GeM, 16 pseudo identities x 16 images per step (global batch 256,
# split over the GPUs), Adam 3.5e-4, 50 epochs, DBSCAN eps 0.6 on
# k-reciprocal Jaccard distances (k1 30, k2 6), camera-aware filter,
# temperature 0.05.
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/market1501.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/pseudo_label.py',
]
