# Non-local attention after the WaveBlock instead of CBAM before it.
_base_ = ['./baseline.py']
model = dict(backbone=dict(wam=dict(attention='nonlocal', attention_cfg=None)))
