# Memory momentum 0.1 (Cluster Contrast's published commands) for both
# memories, instead of 0.2.
_base_ = ['./baseline.py']
model = dict(
    head=dict(
        cluster_memory=dict(momentum=0.1),
        instance_memory=dict(momentum=0.1)))
