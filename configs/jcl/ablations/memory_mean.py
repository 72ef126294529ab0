# Cluster memory updated with the batch mean of each label, not the
# hardest (least similar) sample.
_base_ = ['./baseline.py']
model = dict(head=dict(cluster_memory=dict(mode='mean')))
