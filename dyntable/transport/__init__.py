"""Transports: how dyntable reaches DynamoDB (boto3, HTTP, DAX, cache, routing, mock).

Names load on first use, so importing this package imports neither boto3 nor the DAX
client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dyntable.transport.base import CallEvent, Hook, Transport, TransportBase
    from dyntable.transport.boto3 import Boto3Transport, RetryConfig
    from dyntable.transport.cache import CachedTransport, CacheStats
    from dyntable.transport.dax import DaxTransport
    from dyntable.transport.http import HttpTransport
    from dyntable.transport.mock import MockCall, MockTransport
    from dyntable.transport.routing import RoutingTransport

_LAZY: dict[str, str] = {
    "Boto3Transport": "dyntable.transport.boto3",
    "CacheStats": "dyntable.transport.cache",
    "CachedTransport": "dyntable.transport.cache",
    "CallEvent": "dyntable.transport.base",
    "DaxTransport": "dyntable.transport.dax",
    "Hook": "dyntable.transport.base",
    "HttpTransport": "dyntable.transport.http",
    "MockCall": "dyntable.transport.mock",
    "MockTransport": "dyntable.transport.mock",
    "RetryConfig": "dyntable.transport.boto3",
    "RoutingTransport": "dyntable.transport.routing",
    "Transport": "dyntable.transport.base",
    "TransportBase": "dyntable.transport.base",
}

__all__ = [
    "Boto3Transport",
    "CacheStats",
    "CachedTransport",
    "CallEvent",
    "DaxTransport",
    "Hook",
    "HttpTransport",
    "MockCall",
    "MockTransport",
    "RetryConfig",
    "RoutingTransport",
    "Transport",
    "TransportBase",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dyntable.transport' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
