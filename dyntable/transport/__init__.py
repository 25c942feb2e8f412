"""Transports: how dyntable reaches DynamoDB (boto3, HTTP, DAX, cache, routing, mock), and hooks.

The asyncio side: :class:`AsyncHttpTransport`, :class:`AsyncMockTransport`, and
:class:`AsyncTransportAdapter` (any sync transport, run in worker threads).

Names load on first use, so importing this package imports neither boto3, the DAX client
nor asyncio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.transport.aio_adapter import AsyncTransportAdapter
    from dyntable.transport.aio_base import AsyncTransportBase
    from dyntable.transport.aio_cache import AsyncCachedTransport
    from dyntable.transport.aio_http import AsyncHttpTransport
    from dyntable.transport.aio_mock import AsyncMockTransport
    from dyntable.transport.base import AsyncTransport, CallEvent, Hook, Transport, TransportBase
    from dyntable.transport.boto3 import Boto3Transport, RetryConfig
    from dyntable.transport.cache import CachedTransport, CacheStats, CacheStore, MemoryCacheStore
    from dyntable.transport.dax import DaxTransport
    from dyntable.transport.hooks import OperationMetrics, OperationStats, logging_hook
    from dyntable.transport.http import HttpTransport
    from dyntable.transport.mock import MockCall, MockTransport
    from dyntable.transport.redis_cache import AsyncRedisCacheStore, RedisCacheStore
    from dyntable.transport.routing import RoutingTransport

_LAZY: dict[str, str] = {
    "AsyncHttpTransport": "dyntable.transport.aio_http",
    "AsyncMockTransport": "dyntable.transport.aio_mock",
    "AsyncTransport": "dyntable.transport.base",
    "AsyncTransportAdapter": "dyntable.transport.aio_adapter",
    "AsyncTransportBase": "dyntable.transport.aio_base",
    "Boto3Transport": "dyntable.transport.boto3",
    "CacheStats": "dyntable.transport.cache",
    "CacheStore": "dyntable.transport.cache",
    "CachedTransport": "dyntable.transport.cache",
    "MemoryCacheStore": "dyntable.transport.cache",
    "RedisCacheStore": "dyntable.transport.redis_cache",
    "AsyncRedisCacheStore": "dyntable.transport.redis_cache",
    "CallEvent": "dyntable.transport.base",
    "DaxTransport": "dyntable.transport.dax",
    "Hook": "dyntable.transport.base",
    "HttpTransport": "dyntable.transport.http",
    "MockCall": "dyntable.transport.mock",
    "MockTransport": "dyntable.transport.mock",
    "OperationMetrics": "dyntable.transport.hooks",
    "OperationStats": "dyntable.transport.hooks",
    "RetryConfig": "dyntable.transport.boto3",
    "RoutingTransport": "dyntable.transport.routing",
    "Transport": "dyntable.transport.base",
    "TransportBase": "dyntable.transport.base",
    "logging_hook": "dyntable.transport.hooks",
    "AsyncCachedTransport": "dyntable.transport.aio_cache",
}

__all__ = [
    "AsyncCachedTransport",
    "AsyncHttpTransport",
    "AsyncMockTransport",
    "AsyncRedisCacheStore",
    "AsyncTransport",
    "AsyncTransportAdapter",
    "AsyncTransportBase",
    "Boto3Transport",
    "CacheStats",
    "CacheStore",
    "CachedTransport",
    "CallEvent",
    "DaxTransport",
    "Hook",
    "HttpTransport",
    "MemoryCacheStore",
    "MockCall",
    "MockTransport",
    "OperationMetrics",
    "OperationStats",
    "RedisCacheStore",
    "RetryConfig",
    "RoutingTransport",
    "Transport",
    "TransportBase",
    "logging_hook",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
