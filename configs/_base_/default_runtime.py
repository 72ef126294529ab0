# Runtime settings shared by every config.
default_scope = 'jclreid'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # jclreid's CheckpointHook (SafeCheckpointHook): removes an old
    # checkpoint only after the new one and `last_checkpoint` are written.
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Random generator states in checkpoints (exact resume) and per-epoch
    # dataloader worker seeds.
    rng_state=dict(type='RandomStateHook', reseed_workers=True),
    # Stop at the first non-finite loss ('raise'; 'skip' skips the step)
    # and never save non-finite weights.
    non_finite=dict(type='NonFiniteCheckHook', action='raise'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
