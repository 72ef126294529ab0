# Copyright (c) jclreid contributors. All rights reserved.
from .reid_metric import ReIDMetric
from .scene_metric import SceneMetric, leave_one_out_knn, leave_one_out_map

__all__ = ['ReIDMetric', 'SceneMetric', 'leave_one_out_map',
           'leave_one_out_knn']
