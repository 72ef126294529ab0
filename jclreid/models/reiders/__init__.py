# Copyright (c) jclreid contributors. All rights reserved.
from .jcl import JCL

__all__ = ['JCL']
