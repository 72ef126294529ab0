# Copyright (c) jclreid contributors. All rights reserved.
from .persons import generate_persons, render_person
from .scenes import SCENE_CLASSES, generate_scenes, render_scene
from .synthetic_reid import SyntheticReID
from .synthetic_scenes import SyntheticScenes

__all__ = [
    'generate_persons', 'render_person', 'generate_scenes', 'render_scene',
    'SCENE_CLASSES', 'SyntheticReID', 'SyntheticScenes'
]
