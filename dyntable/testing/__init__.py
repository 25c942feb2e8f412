"""Local DynamoDB servers for tests, demos and benchmarks.

- :class:`DynamoDBLocal` fetches (once, into a per-user cache) and runs Amazon's
  DynamoDB Local; :func:`ensure_dynamodb_local` and :func:`java_path` are its helpers.
- :func:`start_embedded` starts DynamoDB Local when possible, moto's server otherwise.
- The pytest plugin (``dyntable.testing.pytest_plugin``, loaded automatically) provides
  the ``dynamodb_endpoint``, ``moto_endpoint`` and ``unique_table_name`` fixtures.

Names are imported on first use, so ``import dyntable.testing`` costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.testing.dynamodb_local import (
        DynamoDBLocal,
        LocalServerError,
        MissingDependencyError,
        UnsafeArchiveError,
        ensure_dynamodb_local,
        java_path,
    )
    from dyntable.testing.embedded import EmbeddedServer, start_embedded
    from dyntable.testing.redis_server import RedisServer

__all__ = [
    "DynamoDBLocal",
    "EmbeddedServer",
    "LocalServerError",
    "MissingDependencyError",
    "RedisServer",
    "UnsafeArchiveError",
    "ensure_dynamodb_local",
    "java_path",
    "start_embedded",
]

_LAZY = {
    "DynamoDBLocal": ".dynamodb_local",
    "LocalServerError": ".dynamodb_local",
    "MissingDependencyError": ".dynamodb_local",
    "UnsafeArchiveError": ".dynamodb_local",
    "ensure_dynamodb_local": ".dynamodb_local",
    "java_path": ".dynamodb_local",
    "EmbeddedServer": ".embedded",
    "start_embedded": ".embedded",
    "RedisServer": ".redis_server",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
