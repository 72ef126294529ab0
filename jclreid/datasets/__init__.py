# Copyright (c) jclreid contributors. All rights reserved.
from .base_reid_dataset import BaseReIDDataset
from .market1501 import DukeMTMCReID, Market1501
from .msmt17 import MSMT17
from .prai1581 import PRAI1581
from .reid_folder import ReIDFolder
from .samplers import *  # noqa: F401,F403
from .scene_folder import SceneFolder
from .sklearn_digits import SklearnDigits
from .synthetic import SyntheticReID, SyntheticScenes
from .transforms import *  # noqa: F401,F403
from .unlabeled_folder import UnlabeledFolder

__all__ = [
    'BaseReIDDataset', 'Market1501', 'DukeMTMCReID', 'MSMT17', 'ReIDFolder',
    'SceneFolder', 'SklearnDigits', 'SyntheticReID', 'SyntheticScenes',
    'UnlabeledFolder', 'PRAI1581'
]
