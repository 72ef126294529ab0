# 10 hardest negatives in the instance loss instead of 50.
_base_ = ['./baseline.py']
model = dict(head=dict(loss=dict(instance_loss=dict(k_neg=10))))
