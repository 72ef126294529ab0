# JCL for the CPU configs: ResNet-18 + WAM from random initialisation, average
# pooling, 512-d features, and memory momentum 0.2, with which these recipes
# were tuned and measured (the GPU recipes use Cluster Contrast's 0.1; the
# ablation grid measured no difference, docs/en/results.md).
_base_ = ['./jcl_r50.py']

model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=512, pooling='avg'),
    head=dict(
        feat_dim=512,
        cluster_memory=dict(momentum=0.2),
        instance_memory=dict(momentum=0.2)))
