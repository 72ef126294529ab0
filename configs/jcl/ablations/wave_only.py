# WaveBlock without attention.
_base_ = ['./baseline.py']
model = dict(backbone=dict(wam=dict(attention=None)))
