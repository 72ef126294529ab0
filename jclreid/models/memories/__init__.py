# Copyright (c) jclreid contributors. All rights reserved.
from .cluster_memory import ClusterMemory
from .instance_memory import InstanceMemory

__all__ = ['ClusterMemory', 'InstanceMemory']
