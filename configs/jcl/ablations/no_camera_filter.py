# No camera-aware filter: single-camera clusters are kept.
_base_ = ['./baseline.py']
default_hooks = dict(pseudo_label=dict(label_generator=dict(filters=[])))
