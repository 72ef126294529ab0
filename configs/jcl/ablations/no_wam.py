# Plain ResNet-18: no WaveBlock attention module.
_base_ = ['./baseline.py']
model = dict(backbone=dict(wam=None))
