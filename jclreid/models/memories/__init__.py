# Copyright (c) jclreid contributors. All rights reserved.
from .base_memory import BaseMemory
from .cluster_memory import ClusterMemory
from .instance_memory import InstanceMemory

__all__ = ['BaseMemory', 'ClusterMemory', 'InstanceMemory']
