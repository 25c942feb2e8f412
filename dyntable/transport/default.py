"""The transports ``table.connect()`` and ``table.connect_async()`` make when none is given."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dyntable.transport.base import AsyncTransport, Transport

__all__ = ["default_async_transport", "default_transport"]

_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def default_transport(
    endpoint_url: str | None = None, region: str | None = None, **options: Any
) -> Transport:
    """The transport ``table.connect()`` makes when none is given.

    :class:`~dyntable.transport.http.HttpTransport` (DynamoDB's JSON protocol with dyntable's
    own SigV4 signing; credentials and region from the environment, else botocore's chain
    loaded lazily): measured at 0.3-0.5x the time of a boto3 client call and a fraction of
    its cold start. Behind an HTTP proxy (``HTTPS_PROXY`` / ``HTTP_PROXY`` set), which that
    transport does not speak, :class:`~dyntable.transport.boto3.Boto3Transport` is used.
    Pass ``transport=Boto3Transport(...)`` for botocore features (custom sessions, event
    hooks, adaptive retries). While moto's ``mock_aws`` is active and no ``endpoint_url`` is
    given it is a ``Boto3Transport`` too, which moto answers
    (:mod:`dyntable._internal.transport.moto_guard`).
    """
    botocore = _botocore_transport(endpoint_url, region, **options)
    if botocore is not None:
        return botocore
    from dyntable.transport.http import HttpTransport

    return HttpTransport(endpoint_url=endpoint_url, region=region, **options)


def default_async_transport(
    endpoint_url: str | None = None, region: str | None = None, **options: Any
) -> AsyncTransport:
    """The transport ``await table.connect_async()`` makes when none is given.

    :class:`~dyntable.transport.aio_http.AsyncHttpTransport`; in the two cases where
    :func:`default_transport` picks boto3 (moto's ``mock_aws`` active with no
    ``endpoint_url``, or an HTTP proxy configured), that ``Boto3Transport`` in an
    :class:`~dyntable.transport.aio_adapter.AsyncTransportAdapter` (worker threads).
    """
    botocore = _botocore_transport(endpoint_url, region, **options)
    if botocore is not None:
        from dyntable.transport.aio_adapter import AsyncTransportAdapter

        return AsyncTransportAdapter(botocore)
    from dyntable.transport.aio_http import AsyncHttpTransport

    return AsyncHttpTransport(endpoint_url=endpoint_url, region=region, **options)


def _botocore_transport(
    endpoint_url: str | None, region: str | None, **options: Any
) -> Transport | None:
    """A ``Boto3Transport`` when the direct HTTP transports must not be used: under moto's
    mock (which only intercepts botocore) or behind an HTTP proxy (which they do not speak);
    else ``None``."""
    from dyntable._internal.transport.moto_guard import boto3_fallback, transport_under_moto

    mocked = transport_under_moto(endpoint_url, region, **options)
    if mocked is not None:
        return mocked
    proxy = next((v for v in _PROXY_VARIABLES if os.environ.get(v)), None)
    if proxy is not None:
        return boto3_fallback(endpoint_url, region, f"{proxy} is set (an HTTP proxy)",
                              **options)
    return None
