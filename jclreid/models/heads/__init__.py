# Copyright (c) jclreid contributors. All rights reserved.
from .jcl_head import JCLHead

__all__ = ['JCLHead']
