# jcl_r18_synthetic with one more pseudo-label filter from this plugin:
# clusters with fewer than 4 images (the sampler's K) become outliers.
# Run from the repository root with the plugin on the Python path:
#   PYTHONPATH=projects/example_project python tools/train.py \
#       projects/example_project/configs/jcl_r18_synthetic_min_size.py
_base_ = ['../../../configs/jcl/jcl_r18_synthetic.py']

# Imported when the config is read: registers MinClusterSizeFilter in
# jclreid's CLUSTERERS registry. allow_failed_imports=False: a missing
# module is an error, not a silent fallback to the base recipe.
custom_imports = dict(
    imports=['example_project'], allow_failed_imports=False)

default_hooks = dict(
    pseudo_label=dict(
        label_generator=dict(filters=[
            dict(type='CameraAwareFilter', min_cameras=2),
            dict(type='MinClusterSizeFilter', min_size=4),
        ])))
