# Copyright (c) jclreid contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope

from .compat import register_checkpoint_loader


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every jclreid module so that its classes register themselves.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'jclreid'`` so that registries look up jclreid components
            first. Defaults to True.
    """
    import jclreid.clustering  # noqa: F401,F403
    import jclreid.datasets  # noqa: F401,F403
    import jclreid.engine  # noqa: F401,F403
    import jclreid.evaluation  # noqa: F401,F403
    import jclreid.models  # noqa: F401,F403
    import jclreid.structures  # noqa: F401,F403
    register_checkpoint_loader()

    if not init_default_scope:
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('jclreid', scope_name='jclreid')
    elif current_scope.scope_name != 'jclreid':
        warnings.warn(f'The current default scope "{current_scope.scope_name}"'
                      ' is not "jclreid"; `register_all_modules` creates a '
                      'new default scope named "jclreid".')
        new_instance_name = f'jclreid-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='jclreid')
