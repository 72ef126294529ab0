# Ablation baseline: the main job (jcl_r18_synthetic.py) on a shorter
# schedule, so that every row x 3 seeds of the ablation table regenerates in
# about 2 hours on 2 cores:
#   python tools/analysis_tools/run_seeds.py configs/jcl/ablations/*.py \
#       --seeds 0 1 2 --jobs 2 --out docs/en/tables/ablations.md
# Every other file here changes one thing of this one. It pins the settings
# the grid was run with where the main job has since moved on (CBAM without
# its spatial BatchNorm before the WaveBlock; 50 instance negatives).
_base_ = ['../jcl_r18_synthetic.py']

model = dict(
    backbone=dict(
        wam=dict(
            attention='cbam',
            attention_cfg=dict(_delete_=True, spatial_norm=False))),
    head=dict(loss=dict(instance_loss=dict(k_neg=50))))

train_cfg = dict(max_epochs=16, val_interval=16)
param_scheduler = dict(milestones=[13])
default_hooks = dict(
    pseudo_label=dict(warmup_epochs=5), checkpoint=dict(interval=16))
