# CBAM's spatial attention with the BatchNorm after its convolution, as in
# CBAM (the synthetic recipe drops it).
_base_ = ['./baseline.py']
model = dict(
    backbone=dict(wam=dict(attention_cfg=dict(spatial_norm=True))))
