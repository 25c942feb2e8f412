"""Requests never leave moto's ``mock_aws`` (issue 12, defect 5).

moto patches botocore; dyntable's default HttpTransport does not use botocore, so under
the mock it used to sign real requests to ``dynamodb.<region>.amazonaws.com``. Now
``table.connect()`` uses a Boto3Transport that moto answers, and an explicit
HttpTransport aimed at real AWS is refused before anything is sent.

moto is a mock: these tests check only that requests reach it, never DynamoDB behaviour.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import ProxyModeMockAWS, ServerModeMockAWS

from dyntable._internal.transport.moto_guard import active_moto_mock
from dyntable.errors import ConfigurationError
from dyntable.transport.aio_adapter import AsyncTransportAdapter
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.cache import CachedTransport
from dyntable.transport.default import default_async_transport, default_transport
from dyntable.transport.http import HttpTransport
from tests.models import Customer, Order, shop

ROOT = Path(__file__).resolve().parents[3]
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A region, and no endpoint in the environment that would take requests past moto."""
    for name in _ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)


@pytest.fixture
def mocked(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


def _order(order_id: str, day: int) -> Order:
    placed = datetime(2026, 11, day, 12, 0, tzinfo=timezone.utc)
    return Order(username="ada", order_id=order_id, status="PLACED", placed_at=placed,
                 total=Decimal("12.50"))


def test_connect_under_mock_aws_lands_in_moto(mocked: None) -> None:
    db = shop.connect()
    # Checked before any request: the HTTP transport would have gone to real AWS.
    assert isinstance(db.transport, Boto3Transport)
    db.create_table()
    db.put(Customer(username="ada", email="ada@example.com", name="Ada"))
    db.put(_order("o1", 1))
    db.put(_order("o2", 2))

    raw = boto3.client("dynamodb", region_name="us-east-1")
    assert raw.list_tables()["TableNames"] == ["shop"]
    item = raw.get_item(TableName="shop",
                        Key={"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}})["Item"]
    assert item["name"] == {"S": "Ada"}

    got = db.get(Customer, username="ada")
    assert got is not None and got.email == "ada@example.com"
    assert [o.order_id for o in db.query(Order.primary, username="ada")] == ["o1", "o2"]


def test_connect_async_under_mock_aws_lands_in_moto(mocked: None) -> None:
    async def use() -> None:
        async with await shop.connect_async() as db:
            # boto3 in worker threads: moto answers it, as it answers the sync client
            assert isinstance(db.transport, AsyncTransportAdapter)
            assert isinstance(db.transport.transport, Boto3Transport)
            await db.create_table()
            await db.put(Customer(username="ada", email="ada@example.com", name="Ada"))
            await db.put(_order("o1", 1))
            got = await db.get(Customer, username="ada")
            assert got is not None and got.email == "ada@example.com"
            assert [o.order_id async for o in db.query(Order.primary, username="ada")] == ["o1"]

    asyncio.run(use())
    raw = boto3.client("dynamodb", region_name="us-east-1")
    item = raw.get_item(TableName="shop",
                        Key={"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}})["Item"]
    assert item["name"] == {"S": "Ada"}


def test_explicit_async_http_transport_to_real_aws_is_refused(mocked: None) -> None:
    with pytest.raises(ConfigurationError, match=r"mock_aws is active.*dynamodb\.us-east-1"):
        AsyncHttpTransport()
    local = default_async_transport(endpoint_url="http://127.0.0.1:8765")
    assert isinstance(local, AsyncHttpTransport)


def test_behind_a_proxy_both_defaults_use_botocore(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(default_async_transport(), AsyncHttpTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert isinstance(default_transport(), Boto3Transport)
    adapted = default_async_transport()
    assert isinstance(adapted, AsyncTransportAdapter)
    assert isinstance(adapted.transport, Boto3Transport)


def test_connect_options_for_the_http_transport_carry_over(mocked: None) -> None:
    transport = default_transport(max_attempts=2, read_timeout=3.0)
    assert isinstance(transport, Boto3Transport)
    assert transport.retry.max_attempts == 2


def test_explicit_http_transport_to_real_aws_is_refused(mocked: None) -> None:
    with pytest.raises(ConfigurationError, match=r"mock_aws is active.*dynamodb\.us-east-1"):
        HttpTransport()
    with pytest.raises(ConfigurationError, match="moto only intercepts botocore"):
        HttpTransport(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com",
                      region="eu-west-1")
    with pytest.raises(ConfigurationError, match="mock_aws is active"):
        shop.connect(transport=HttpTransport(region="cn-north-1"))


def test_explicit_local_endpoint_is_left_alone(mocked: None) -> None:
    db = shop.connect(endpoint_url="http://127.0.0.1:8765")
    assert isinstance(db.transport, HttpTransport)
    assert db.transport.endpoint_url == "http://127.0.0.1:8765"
    HttpTransport(endpoint_url="http://localhost:8000")


def test_guard_is_off_outside_the_mock(aws_env: None) -> None:
    assert active_moto_mock() is None
    with mock_aws():
        assert active_moto_mock() == "decorator"
        with mock_aws():
            assert active_moto_mock() == "decorator"
        assert active_moto_mock() == "decorator"
    assert active_moto_mock() is None
    assert isinstance(default_transport(), HttpTransport)
    assert HttpTransport().endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"


@pytest.mark.parametrize("kind", ["http", "boto3", "cached"])
def test_no_transport_of_the_suite_reaches_real_aws_from_a_mock(
    mocked: None, kind: str
) -> None:
    """Every transport tests/conftest.py builds, aimed at AWS, is answered by moto or
    refused before sending."""
    if kind == "http":
        with pytest.raises(ConfigurationError, match="mock_aws is active"):
            HttpTransport(region="us-east-1")
        return
    inner = Boto3Transport(region="us-east-1")
    transport = inner if kind == "boto3" else CachedTransport(inner)
    assert transport.send("ListTables", {})["TableNames"] == []
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName="probe", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert transport.send("ListTables", {})["TableNames"] == ["probe"]


def test_server_mode_goes_to_motos_server(
    aws_env: None, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SERVER_MODE_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("MOTO_CALL_RESET_API", "false")
    with ServerModeMockAWS():
        assert active_moto_mock() == "server"
        db = shop.connect(table_name="moto-server-mode")
        assert isinstance(db.transport, Boto3Transport)
        db.create_table()
        try:
            db.put(Customer(username="ada", email="ada@example.com", name="Ada"))
            raw = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_endpoint)
            key = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}}
            item = raw.get_item(TableName="moto-server-mode", Key=key)["Item"]
            assert item["name"] == {"S": "Ada"}
            with pytest.raises(ConfigurationError, match="server mode"):
                HttpTransport()
        finally:
            db.delete_table(wait=False)


def test_proxy_mode_is_refused_with_the_way_out(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_CALL_RESET_API", "false")
    with ProxyModeMockAWS():
        assert active_moto_mock() == "proxy"
        with pytest.raises(ConfigurationError, match=r"boto3\.client\('dynamodb'\)"):
            shop.connect()
        with pytest.raises(ConfigurationError, match="proxy mode"):
            HttpTransport()


def test_guard_does_not_import_moto() -> None:
    code = (
        "import sys\n"
        "from dyntable.transport.default import default_transport\n"
        "from tests.models import shop\n"
        "db = shop.connect(endpoint_url='http://127.0.0.1:1', region='us-east-1')\n"
        "db = shop.connect(region='us-east-1')\n"
        "assert type(db.transport).__name__ == 'HttpTransport'\n"
        "assert not any(m == 'moto' or m.startswith('moto.') for m in sys.modules), 'moto'\n"
    )
    env: dict[str, Any] = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "x",
                           "AWS_SECRET_ACCESS_KEY": "y"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=ROOT, check=False, timeout=60)
    assert result.returncode == 0, result.stderr


def test_behind_a_proxy_an_http_only_option_gets_a_clear_error(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: TypeError from Boto3Transport's constructor, saying nothing of the proxy.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    with pytest.raises(ConfigurationError, match=r"HTTPS_PROXY is set.*takes no credentials"):
        default_transport(credentials=lambda: None)
    assert isinstance(default_transport(max_attempts=2, read_timeout=3.0), Boto3Transport)
