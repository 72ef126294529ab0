# The runtime of every JCL config: the default runtime plus the pseudo-label
# refresh. Defaults come from the code: PseudoLabelHook's signature for the
# hook's own settings (pipeline=None: the test dataloader's pipeline,
# interval, warmup_epochs, log_gt_metrics) and LabelGenerator's for the
# label generator. This file states only what a JCL recipe sets: the
# extraction loader and each stage of the label generator with its `type`,
# so that leaf configs override single keys, e.g.
#   default_hooks = dict(pseudo_label=dict(
#       warmup_epochs=6, label_generator=dict(clusterer=dict(eps=0.7))))
# or
#   --cfg-options default_hooks.pseudo_label.label_generator.clusterer.eps=0.7
# The label generator's values are Cluster Contrast's Market-1501 recipe.
_base_ = ['./default_runtime.py']

default_hooks = dict(
    pseudo_label=dict(
        type='PseudoLabelHook',
        batch_size=128,  # extraction batch per process
        num_workers=4,
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=30, k2=6),
            clusterer=dict(type='DBSCANClusterer', eps=0.6, min_samples=4),
            filters=[dict(type='CameraAwareFilter', min_cameras=2)])))
