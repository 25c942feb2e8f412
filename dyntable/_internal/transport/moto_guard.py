"""Requests must not leave moto's ``mock_aws``: which mock is active, and what it serves.

moto patches botocore (an event handler on every botocore client) and ``boto3.client``;
:class:`~dyntable.transport.http.HttpTransport` uses neither, so under ``mock_aws`` it
would sign real requests to the real endpoint. This module tells whether a mock is active
without importing moto: a program that has not imported moto has no mock.

The signals, read from moto 5's ``moto.core.models``:

* ``botocore_stubber.enabled``: the in-process (decorator) mock, the usual one, is
  active; every botocore client is answered by moto (moto itself reads this flag to tell
  whether boto calls are intercepted).
* ``ServerModeMockAWS._nested_count`` / ``ProxyModeMockAWS._nested_count`` (each class's
  own counter, > 0 while its mock is started): ``TEST_SERVER_MODE`` sends boto3 clients to
  moto's server, ``TEST_PROXY_MODE`` through moto's proxy.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

from dyntable.errors import ConfigurationError

if TYPE_CHECKING:
    from dyntable.transport.base import Transport

__all__ = ["MockKind", "active_moto_mock", "refuse_real_endpoint", "transport_under_moto"]

#: How an active moto mock serves requests.
MockKind = Literal["decorator", "server", "proxy"]

_MODES: tuple[tuple[str, MockKind], ...] = (
    ("ServerModeMockAWS", "server"),
    ("ProxyModeMockAWS", "proxy"),
)


def active_moto_mock() -> MockKind | None:
    """The kind of moto mock (``mock_aws``) active now, or ``None``. Never imports moto."""
    models = sys.modules.get("moto.core.models")
    if models is None:
        return None
    if getattr(getattr(models, "botocore_stubber", None), "enabled", False) is True:
        return "decorator"
    for class_name, kind in _MODES:
        cls = getattr(models, class_name, None)
        # The counter is set on the class whose mock started; subclasses inherit MockAWS's.
        if cls is not None and vars(cls).get("_nested_count", 0) > 0:
            return kind
    return None


def transport_under_moto(
    endpoint_url: str | None, region: str | None, **options: Any
) -> Transport | None:
    """The transport for ``table.connect()`` while a moto mock is active, else ``None``.

    With no ``endpoint_url``, a :class:`~dyntable.transport.boto3.Boto3Transport`: moto
    answers it as it answers any boto3 client (an ``AWS_ENDPOINT_URL_DYNAMODB`` in the
    environment takes it there instead, as it takes boto3). An explicit ``endpoint_url``
    (DynamoDB Local, say) is not moto's business: ``None``, so the usual transport is made.

    Raises:
        ConfigurationError: moto's proxy mode, which only moto's own ``boto3.client``
            reaches; or no region configured.
    """
    kind = active_moto_mock() if endpoint_url is None else None
    if kind is None:
        return None
    if kind == "proxy":
        raise ConfigurationError(
            "moto's proxy mode (TEST_PROXY_MODE) is active: pass "
            "transport=Boto3Transport(client=boto3.client('dynamodb')) so requests go "
            "through moto's proxy"
        )
    from dyntable.transport.credentials import resolve_region

    if kind == "server":
        settings = sys.modules.get("moto.settings")
        endpoint_url = settings.test_server_mode_endpoint() if settings else None
    region = resolve_region(region, endpoint_url=endpoint_url)
    return boto3_fallback(endpoint_url, region, "moto's mock_aws is active", **options)


def boto3_fallback(endpoint_url: str | None, region: str | None, why: str,
                   **options: Any) -> Transport:
    """The ``Boto3Transport`` the default transport falls back to (``why``: moto's mock, an
    HTTP proxy), given the options ``connect()`` received for the HTTP transport.

    Raises:
        ConfigurationError: an option the boto3 transport has no equivalent for (such as
            ``credentials=``), named, with what to do instead.
    """
    import inspect

    from dyntable.transport.boto3 import Boto3Transport, RetryConfig

    if "max_attempts" in options or "retry_mode" in options:  # HttpTransport's spelling
        options["retry"] = RetryConfig(options.pop("retry_mode", "standard"),
                                       options.pop("max_attempts", 4))
    accepted = inspect.signature(Boto3Transport).parameters
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        raise ConfigurationError(
            f"{why}, so connect() uses Boto3Transport (the direct HTTP transport cannot be "
            f"used), which takes no {', '.join(unknown)}: pass "
            "transport=Boto3Transport(session=boto3.Session(...)) with what you need, or "
            "transport=HttpTransport(...) to keep these options"
        )
    return Boto3Transport(endpoint_url=endpoint_url, region=region, **options)


def refuse_real_endpoint(endpoint_url: str) -> None:
    """Raise if a moto mock is active: a request to the real AWS ``endpoint_url`` would
    leave it (the caller knows the URL is real AWS).

    Raises:
        ConfigurationError: a moto mock is active.
    """
    kind = active_moto_mock()
    if kind is None:
        return
    raise ConfigurationError(
        f"moto's mock_aws is active ({kind} mode) but this HttpTransport would send real "
        f"requests to {endpoint_url}: moto only intercepts botocore. Use table.connect() "
        "without a transport (it uses boto3 under the mock), or "
        "transport=Boto3Transport(), or an endpoint_url such as DynamoDB Local's"
    )
