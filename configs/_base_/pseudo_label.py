# The runtime of every JCL config: the default runtime plus the pseudo-label
# refresh. This is the one place where the refresh and its label generator
# are stated; leaf configs override single keys, e.g.
#   default_hooks = dict(pseudo_label=dict(
#       label_generator=dict(clusterer=dict(eps=0.7))))
# or `--cfg-options default_hooks.pseudo_label.label_generator.clusterer.eps=0.7`.
# The values below are Cluster Contrast's Market-1501 recipe.
_base_ = ['./default_runtime.py']

default_hooks = dict(
    pseudo_label=dict(
        type='PseudoLabelHook',
        pipeline=None,  # None: the test dataloader's pipeline
        interval=1,  # refresh before every epoch
        warmup_epochs=0,  # instance-discrimination epochs before clustering
        batch_size=128,  # extraction batch per process
        num_workers=4,
        label_generator=dict(
            type='LabelGenerator',
            distance=dict(type='JaccardDistance', k1=30, k2=6),
            clusterer=dict(type='DBSCANClusterer', eps=0.6, min_samples=4),
            filters=[dict(type='CameraAwareFilter', min_cameras=2)])))
