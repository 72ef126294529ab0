# Copyright (c) jclreid contributors. All rights reserved.
