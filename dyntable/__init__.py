"""dyntable: typed single-table design for Amazon DynamoDB.

Public names are loaded on first use, so ``import dyntable`` stays light for Lambda cold
starts (boto3 and optional extras load only when a client or transport is made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dyntable._internal.operations.collections import Collection
    from dyntable._internal.operations.rate_limit import RateLimiter
    from dyntable._internal.operations.reads import Page
    from dyntable.async_client import (
        AsyncClient,
        AsyncQuery,
        AsyncScan,
        AsyncTransaction,
        AsyncUpdateBuilder,
    )
    from dyntable.client import Client
    from dyntable.client_builders import Query, Scan, Transaction, UpdateBuilder
    from dyntable.expressions.paths import F, Path, if_not_exists, list_append
    from dyntable.schema.formats import Format, TypeHook
    from dyntable.schema.keys import ItemKey, Key
    from dyntable.schema.model import TTL, CreatedAt, Model, Unique, UpdatedAt, Version
    from dyntable.schema.settings import AutoScaling, Encryption, OnDemandThroughput, Replica
    from dyntable.schema.table import GSI, LSI
    from dyntable.table import Table

_LAZY: dict[str, str] = {
    "AsyncClient": "dyntable.async_client",
    "AsyncQuery": "dyntable.async_client",
    "AsyncScan": "dyntable.async_client",
    "AsyncTransaction": "dyntable.async_client",
    "AsyncUpdateBuilder": "dyntable.async_client",
    "AutoScaling": "dyntable.schema.settings",
    "Encryption": "dyntable.schema.settings",
    "OnDemandThroughput": "dyntable.schema.settings",
    "Replica": "dyntable.schema.settings",
    "ItemKey": "dyntable.schema.keys",
    "Transaction": "dyntable.client_builders",
    "Client": "dyntable.client",
    "UpdateBuilder": "dyntable.client_builders",
    "Collection": "dyntable._internal.operations.collections",
    "F": "dyntable.expressions.paths",
    "Format": "dyntable.schema.formats",
    "GSI": "dyntable.schema.table",
    "Key": "dyntable.schema.keys",
    "LSI": "dyntable.schema.table",
    "Model": "dyntable.schema.model",
    "Page": "dyntable._internal.operations.reads",
    "RateLimiter": "dyntable._internal.operations.rate_limit",
    "Path": "dyntable.expressions.paths",
    "Query": "dyntable.client_builders",
    "Scan": "dyntable.client_builders",
    "TTL": "dyntable.schema.model",
    "CreatedAt": "dyntable.schema.model",
    "UpdatedAt": "dyntable.schema.model",
    "Unique": "dyntable.schema.model",
    "TypeHook": "dyntable.schema.formats",
    "Table": "dyntable.table",
    "Version": "dyntable.schema.model",
    "if_not_exists": "dyntable.expressions.paths",
    "list_append": "dyntable.expressions.paths",
}

__all__ = [
    "GSI",
    "LSI",
    "TTL",
    "AsyncClient",
    "AsyncQuery",
    "AsyncScan",
    "AsyncTransaction",
    "AsyncUpdateBuilder",
    "AutoScaling",
    "Client",
    "Collection",
    "CreatedAt",
    "Encryption",
    "F",
    "Format",
    "ItemKey",
    "Key",
    "Model",
    "OnDemandThroughput",
    "Page",
    "Path",
    "Query",
    "RateLimiter",
    "Replica",
    "Scan",
    "Table",
    "Transaction",
    "TypeHook",
    "Unique",
    "UpdateBuilder",
    "UpdatedAt",
    "Version",
    "__version__",
    "if_not_exists",
    "list_append",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
