"""No models: the schema lives outside Django's model state.

The module exists so that Django sends phoenix_kit the ``pre_migrate`` and
``post_migrate`` signals, which carry ``migrate``'s output (``migrate_output``).
"""
