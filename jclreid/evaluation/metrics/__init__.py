# Copyright (c) jclreid contributors. All rights reserved.
from .dump_ranking import DumpReIDRanking
from .reid_metric import ReIDMetric
from .scene_metric import SceneMetric

__all__ = ['ReIDMetric', 'SceneMetric', 'DumpReIDRanking']
