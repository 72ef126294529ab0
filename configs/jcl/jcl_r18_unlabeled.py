# JCL on a folder of your own person crops, no labels: the recipe of
# jcl_r18_synthetic.py (ResNet-18 + WAM at 64x32 from random initialisation,
# instance warm-up, then joint cluster + instance training) over
# UnlabeledFolder. Point it at your folder with one override:
#   python tools/train.py configs/jcl/jcl_r18_unlabeled.py \
#       --cfg-options train_dataloader.dataset.data_root=path/to/crops
# (a top-level `data_root=...` would not reach the dataset: the config's
# variables are substituted when it is parsed). Cameras, when the file names
# or sub-folders carry them, turn on the camera-aware filter, e.g.
#   train_dataloader.dataset.cam_regex='_c(\d+)'   (Market-1501 style names)
#   train_dataloader.dataset.camera_from=folder    (data_root/<camera>/...)
# Without cameras the filter turns itself off (with a warning).
# There is no evaluation (no labels): the pseudo-label statistics logged at
# every refresh (#clusters, #outliers, cluster sizes) show the progress; then
# tools/group_images.py groups the folder with the trained checkpoint.
_base_ = ['./jcl_r18_synthetic.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledFolder',
        data_root='data/my_person_crops',
        cam_regex=None,
        camera_from=None,
        pipeline={{_base_.train_pipeline}}))

# No labels, so no validation or test: all three fields of each are None
# (mmengine wants all or none), and the validation before training is off.
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
custom_hooks = []

# The pseudo-label hook reads its extraction pipeline from the test
# dataloader by default; state it, since there is none.
default_hooks = dict(pseudo_label=dict(pipeline={{_base_.test_pipeline}}))
