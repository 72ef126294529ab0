# Cluster Contrast's k-reciprocal neighbourhood (k1 entries including the
# point itself) instead of Zhong et al.'s (the point + k1 neighbours).
_base_ = ['./baseline.py']
default_hooks = dict(
    pseudo_label=dict(
        label_generator=dict(
            distance=dict(neighbourhood='cluster_contrast'))))
