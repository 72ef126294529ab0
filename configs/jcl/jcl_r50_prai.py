# JCL on PRAI-1581 (aerial persons): the Market-1501 recipe with DBSCAN eps
# 0.7. The eps was not tuned on PRAI-1581 (no copy of it was at hand): 0.7 is
# Cluster Contrast's value for the harder DukeMTMC-reID and MSMT17. Check it
# with the pseudo-label log (docs/en/faq.md, "How do I choose eps?").
_base_ = [
    '../_base_/models/jcl_r50.py',
    '../_base_/datasets/prai1581.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/pseudo_label.py',
]

default_hooks = dict(
    pseudo_label=dict(label_generator=dict(clusterer=dict(eps=0.7))))
