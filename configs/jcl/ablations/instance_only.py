# Instance loss only: no cluster memory term.
_base_ = ['./baseline.py']
model = dict(head=dict(loss=dict(cluster_weight=0.0)))
