# CBAM's spatial attention without the BatchNorm after its convolution.
_base_ = ['./baseline.py']
model = dict(
    backbone=dict(wam=dict(attention_cfg=dict(spatial_norm=False))))
