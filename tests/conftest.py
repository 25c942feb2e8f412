"""Shared fixtures: a fresh, uniquely named ``shop`` table per test, over each transport.

The session-wide DynamoDB Local server and ``unique_table_name`` come from dyntable's
pytest plugin, which this suite opts in to (``pytest_plugins`` below; it is never loaded
by itself). ``DYNTABLE_TEST_TRANSPORTS`` picks the transports the integration suite runs
over (default: every one available).

This suite's own choice, not the plugin's: for the whole session it runs with dummy AWS
credentials (DynamoDB Local accepts any; CI has none) and region ``us-east-1`` when none is
set, so no test can sign a request with a developer's real credentials. Real credentials
are kept only when a real-AWS or DAX run is asked for (``DYNTABLE_AWS_TESTS=1`` or
``DYNTABLE_DAX_ENDPOINT``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from dyntable._internal.operations.tables import create_table_params
from dyntable.client import Client
from dyntable.schema.table import TableSchema
from dyntable.transport.base import Transport
from tests.async_facade import connect
from tests.models import shop

pytest_plugins = ["dyntable.testing.pytest_plugin"]

_SUITE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_HIDDEN_AWS_ENV = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")
_SAVED_ENV: dict[str, str | None] = {}


def _real_aws_wanted() -> bool:
    flag = os.environ.get("DYNTABLE_AWS_TESTS", "").strip().lower() in ("1", "true", "yes", "on")
    return flag or bool(os.environ.get("DYNTABLE_DAX_ENDPOINT", "").strip())


def pytest_configure(config: pytest.Config) -> None:
    """Dummy credentials and a region for the session (restored in pytest_unconfigure)."""
    if _real_aws_wanted():
        return
    updates: dict[str, str | None] = {**_SUITE_AWS_ENV, **dict.fromkeys(_HIDDEN_AWS_ENV)}
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        updates["AWS_DEFAULT_REGION"] = "us-east-1"
    for name, value in updates.items():
        _SAVED_ENV.setdefault(name, os.environ.get(name))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _SAVED_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _SAVED_ENV.clear()


TransportFactory = Callable[[str], Transport]


def _boto3(endpoint: str) -> Transport:
    from dyntable.transport.boto3 import Boto3Transport

    return Boto3Transport(endpoint_url=endpoint, region="us-east-1")


def _cached(endpoint: str) -> Transport:
    from dyntable.transport.cache import CachedTransport

    # The shared suite expects read-your-writes on queries; DAX-style staleness (the
    # default) is covered by tests/unit/transport/test_cache.py.
    return CachedTransport(_boto3(endpoint), evict_queries_on_write=True)


def _http(endpoint: str) -> Transport:
    from dyntable.transport.http import HttpTransport

    return HttpTransport(endpoint_url=endpoint, region="us-east-1")


def _async_http(endpoint: str) -> Any:
    from dyntable.transport.aio_http import AsyncHttpTransport

    return AsyncHttpTransport(endpoint_url=endpoint, region="us-east-1")


#: "async" runs the suite over AsyncClient + AsyncHttpTransport (tests/async_facade.py).
TRANSPORTS: dict[str, TransportFactory] = {"boto3": _boto3, "cached": _cached, "http": _http,
                                           "async": _async_http}


def _available() -> list[str]:
    wanted = os.environ.get("DYNTABLE_TEST_TRANSPORTS", ",".join(TRANSPORTS)).split(",")
    out = []
    for raw in wanted:
        name = raw.strip()
        if name not in TRANSPORTS:
            continue
        module = {"boto3": "dyntable.transport.boto3", "cached": "dyntable.transport.cache",
                  "http": "dyntable.transport.http",
                  "async": "dyntable.transport.aio_http"}[name]
        try:
            __import__(module)
        except ImportError:
            continue
        out.append(name)
    return out


@pytest.fixture(params=_available())
def transport_name(request: pytest.FixtureRequest) -> str:
    """The transport an integration test runs over (parametrized).

    A test marked ``one_transport`` or ``slow`` (heavy load tests) runs over the first
    transport only.
    """
    name = str(request.param)
    node = request.node
    heavy = node.get_closest_marker("one_transport") or node.get_closest_marker("slow")
    if heavy and name != _available()[0]:
        pytest.skip("heavy test: runs over the first transport only")
    sync_only = node.get_closest_marker("sync_only")
    if sync_only and name == "async":
        pytest.skip(f"sync client only: {sync_only.args[0] if sync_only.args else ''}")
    return name


def _create(client: Client, *, stream: bool) -> None:
    """Create the test table; without its stream unless asked (streams cost DynamoDB Local
    2-3x per write, and only stream tests read them)."""
    params = create_table_params(shop)
    params["TableName"] = client.table_name
    if not stream:
        params.pop("StreamSpecification", None)
    client.send("CreateTable", params)
    client.wait_until_active()
    client.enable_ttl()


@pytest.fixture
def make_client(request: pytest.FixtureRequest, dynamodb_endpoint: str, unique_table_name: str,
                transport_name: str) -> Iterator[Callable[..., Client]]:
    """A factory of clients for one fresh table (created on first call, deleted after).

    The table has the declared stream only for tests marked ``with_stream``.
    """
    made: list[Client] = []
    stream = request.node.get_closest_marker("with_stream") is not None

    def factory(**options: Any) -> Client:
        transport = TRANSPORTS[transport_name](dynamodb_endpoint)
        client = cast(Client, connect(shop, transport, unique_table_name, **options))
        if not made:
            _create(client, stream=stream)
        made.append(client)
        return client

    yield factory
    if made:
        try:
            made[0].delete_table(wait=False)
        finally:
            for c in made:
                c.close()


@pytest.fixture
def client_of(dynamodb_endpoint: str, unique_table_name: str, transport_name: str
              ) -> Iterator[Callable[..., Client]]:
    """Clients of tables other than ``shop``, over the test's transport: ``client_of(table)``
    creates a fresh table from the declaration (named after the test, plus ``suffix``) and
    returns a client of it; the tables are deleted after the test."""
    made: list[Client] = []

    def factory(table: TableSchema, suffix: str = "") -> Client:
        transport = TRANSPORTS[transport_name](dynamodb_endpoint)
        client = cast(Client, connect(table, transport, unique_table_name + suffix))
        client.create_table()
        made.append(client)
        return client

    yield factory
    for client in made:
        try:
            client.delete_table(wait=False)
        finally:
            client.close()


@pytest.fixture
def db(make_client: Callable[..., Client]) -> Client:
    """A client on a fresh ``shop`` table on DynamoDB Local."""
    return make_client()


@pytest.fixture
def offline_db() -> Client:
    """A client whose transport fails every call: for compile-only tests."""
    from dyntable.errors import TransportError

    class _Offline:
        def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            raise TransportError(f"offline test sent {operation}")

        def close(self) -> None:
            pass

    return shop.connect(transport=_Offline())
