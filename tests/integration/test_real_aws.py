"""Smoke test against real AWS, reached by configuration only.

Skipped unless ``DYNTABLE_AWS_TESTS=1``; then it uses the usual credential chain and region
(``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / profile), creates a uniquely named on-demand
table, runs the demo walkthrough over both transports, and deletes the table.
"""

from __future__ import annotations

import uuid

import pytest

from dyntable.demo import demo_table, run_demo
from dyntable.transport.base import Transport
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.http import HttpTransport

pytestmark = pytest.mark.dyntable_aws


@pytest.mark.parametrize("kind", ["http", "boto3"])
def test_demo_walkthrough_on_real_dynamodb(kind: str) -> None:
    transport: Transport = HttpTransport() if kind == "http" else Boto3Transport()
    db = demo_table.connect(transport=transport,
                            table_name=f"dyntable-test-{uuid.uuid4().hex[:10]}")
    try:
        counts = run_demo(db, print)
        assert counts["customer"] == 1 and counts["order"] == 6
    finally:
        if db.table_exists():
            db.delete_table(wait=False)
        db.close()
