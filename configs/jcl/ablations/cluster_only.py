# Cluster loss only after the warm-up (Cluster-Contrast-like): lambda = 0.
_base_ = ['./baseline.py']
model = dict(head=dict(loss=dict(instance_weight=0.0)))
