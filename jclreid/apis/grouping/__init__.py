# Copyright (c) jclreid contributors. All rights reserved.
"""Group a folder of unlabeled images with a trained model
(:func:`group_folder`, the library side of ``tools/group_images.py``)."""
from .cache import (FEATURES_FILE, features_cache_key, file_sha256,
                    load_cached_features, save_cached_features)
from .clustering import (build_label_generator, extraction_pipeline,
                         group_features, order_groups)
from .folder import group_folder, truth_agreement
from .outputs import (CSV_FILE, INDEX_FILE, SUMMARY_FILE, read_groups_csv,
                      write_contact_sheets, write_groups_csv,
                      write_index_html)

__all__ = [
    'file_sha256', 'features_cache_key', 'load_cached_features',
    'save_cached_features', 'extraction_pipeline', 'build_label_generator',
    'group_features', 'order_groups', 'write_groups_csv', 'read_groups_csv',
    'write_contact_sheets', 'write_index_html', 'group_folder',
    'truth_agreement', 'FEATURES_FILE', 'CSV_FILE', 'INDEX_FILE',
    'SUMMARY_FILE'
]
