# Instance loss weight lambda = 0.5 instead of 1.
_base_ = ['./baseline.py']
model = dict(head=dict(loss=dict(instance_weight=0.5)))
