"""The contenders' clients, all pointed at one endpoint and one table.

Each contender is made only when its library imports; a missing optional one (pydynox,
dyntable's HTTP or cache transport) is recorded in :attr:`Env.skipped` with the reason.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import RAW
from benchmarks.items import bench_table

__all__ = [
    "AIODYNAMO",
    "DYN_ASYNC",
    "DYN_BOTO3",
    "DYN_CACHE",
    "DYN_HTTP",
    "PYDYNOX",
    "PYNAMODB",
    "RESOURCE",
    "STDLIB",
    "Env",
    "create_table",
    "seed",
]

RESOURCE = "boto3 resource"
PYNAMODB = "PynamoDB"
PYDYNOX = "pydynox"
DYN_BOTO3 = "dyntable (boto3)"
DYN_HTTP = "dyntable (http)"
DYN_CACHE = "dyntable (cache over http)"
DYN_ASYNC = "dyntable (async http)"
AIODYNAMO = "aiodynamo (httpx)"
STDLIB = "stdlib reference"
REGION = "us-east-1"


def create_table(client: Any, name: str) -> None:
    """Create an on-demand ``PK``/``SK`` table and wait for it."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name)


def seed(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    """Write wire-form ``items`` with BatchWriteItem, retrying unprocessed ones."""
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {
            table: [{"PutRequest": {"Item": it}} for it in items[start:start + 25]]
        }
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


@dataclass
class Env:
    """Clients of every available contender on one table (created by :meth:`open`)."""

    endpoint: str
    table: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:10]}")
    clients: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def raw(self) -> Any:
        """The raw boto3 client (a default ``boto3.client("dynamodb")``)."""
        return self.clients[RAW]

    def open(self) -> Env:
        """Create the table and every contender's client."""
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        import boto3

        self.clients[RAW] = boto3.client("dynamodb", endpoint_url=self.endpoint,
                                         region_name=REGION)
        create_table(self.raw, self.table)
        resource = boto3.resource("dynamodb", endpoint_url=self.endpoint, region_name=REGION)
        self.clients[RESOURCE] = resource.Table(self.table)
        from benchmarks.stdlib_client import StdlibClient

        self.clients[STDLIB] = StdlibClient(self.endpoint, REGION,
                                            os.environ["AWS_ACCESS_KEY_ID"],
                                            os.environ["AWS_SECRET_ACCESS_KEY"])
        self._pynamodb()
        self._pydynox()
        self._dyntable()
        return self

    def _pynamodb(self) -> None:
        from benchmarks.items import pynamodb_model

        self.clients[PYNAMODB] = pynamodb_model(self.table, self.endpoint, REGION)

    def _pydynox(self) -> None:
        try:
            from pydynox import DynamoDBClient
        except ImportError as exc:
            self.skipped[PYDYNOX] = f"not installed ({exc})"
            return
        from benchmarks.items import pydynox_model

        client = DynamoDBClient(region=REGION, endpoint_url=self.endpoint,
                                access_key="bench", secret_key="bench")
        self.clients[PYDYNOX] = pydynox_model(self.table, client)
        self.clients[PYDYNOX + " client"] = client

    def _dyntable(self) -> None:
        from dyntable.transport.boto3 import Boto3Transport

        self.clients[DYN_BOTO3] = bench_table.connect(
            transport=Boto3Transport(endpoint_url=self.endpoint, region=REGION),
            table_name=self.table,
        )
        http = self.http_transport()
        if http is None:
            return
        from dyntable.client import Client

        self.clients[DYN_HTTP] = Client(bench_table, transport=http, table_name=self.table)
        try:
            from dyntable.transport.cache import CachedTransport
        except ImportError as exc:
            self.skipped[DYN_CACHE] = f"dyntable.transport.cache not available ({exc})"
            return
        cached = CachedTransport(self.http_transport())
        self.clients[DYN_CACHE] = Client(bench_table, transport=cached, table_name=self.table)

    def http_transport(self) -> Any:
        """A new HttpTransport on the endpoint, or ``None`` when it does not exist yet."""
        try:
            from dyntable.transport.http import HttpTransport
        except ImportError as exc:
            self.skipped[DYN_HTTP] = f"dyntable.transport.http not available ({exc})"
            return None
        return HttpTransport(endpoint_url=self.endpoint, region=REGION)

    def has(self, name: str) -> bool:
        """True when contender ``name`` was created."""
        return name in self.clients

    def close(self) -> None:
        """Delete the table and close the dyntable clients."""
        try:
            self.raw.delete_table(TableName=self.table)
        finally:
            for name in (DYN_BOTO3, DYN_HTTP, DYN_CACHE, STDLIB):
                if name in self.clients:
                    self.clients[name].close()
