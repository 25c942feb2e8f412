"""The embedded default for the demo: moto's server, over both transports.

moto is a mock: behaviour is verified on DynamoDB Local elsewhere; this only checks that
the demo's walkthrough, the fallback when no Java is present, works end to end on it.
"""

from __future__ import annotations

import uuid

import pytest

from dyntable.demo import demo_table, run_demo
from dyntable.transport.base import Transport
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.http import HttpTransport


@pytest.mark.parametrize("kind", ["http", "boto3"])
def test_demo_walkthrough_on_moto(moto_endpoint: str, kind: str) -> None:
    transport: Transport = (
        HttpTransport(endpoint_url=moto_endpoint, region="us-east-1") if kind == "http"
        else Boto3Transport(endpoint_url=moto_endpoint, region="us-east-1")
    )
    db = demo_table.connect(transport=transport, table_name=f"demo-{uuid.uuid4().hex[:8]}")
    lines: list[str] = []
    counts = run_demo(db, lines.append)
    assert counts["customer"] == 1 and counts["order"] == 6
    assert any("VersionConflictError" in line for line in lines)
    assert not db.table_exists()
