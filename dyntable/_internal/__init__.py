"""dyntable's internals: no stability promise between releases.

Import public names from :mod:`dyntable` and its public modules (``dyntable.client``,
``dyntable.async_client``, ``dyntable.codec``, ``dyntable.expressions``, ``dyntable.schema``,
``dyntable.transport``, ``dyntable.streams``, ``dyntable.migrations``, ``dyntable.testing``,
``dyntable.errors``, ...). The layers here are checked like the public ones (see
``[tool.importlinter]`` in ``pyproject.toml``).
"""
