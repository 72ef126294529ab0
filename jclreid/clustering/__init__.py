# Copyright (c) jclreid contributors. All rights reserved.
from .dbscan import DBSCANClusterer
from .filters import CameraAwareFilter, relabel_contiguous
from .jaccard import JaccardDistance, jaccard_distance
from .knn import knn_search
from .label_generator import LabelGenerator

__all__ = [
    'knn_search', 'jaccard_distance', 'JaccardDistance', 'DBSCANClusterer',
    'CameraAwareFilter', 'relabel_contiguous', 'LabelGenerator'
]
