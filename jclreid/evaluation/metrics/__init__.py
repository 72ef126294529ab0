# Copyright (c) jclreid contributors. All rights reserved.
from .dump_ranking import DumpReIDRanking
from .reid_metric import ReIDMetric
from .scene_metric import SceneMetric, leave_one_out_knn, leave_one_out_map

__all__ = ['ReIDMetric', 'DumpReIDRanking', 'SceneMetric', 'leave_one_out_map',
           'leave_one_out_knn']
