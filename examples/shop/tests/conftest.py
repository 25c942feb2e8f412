"""A fresh, uniquely named shop table per test, on DynamoDB Local, behind the handlers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shopapi.db import database
from shopapi.tenancy import tenant_role

from dyntable import Client


@pytest.fixture
def shop_db(dynamodb_endpoint: str, unique_table_name: str, fake_aws_env: None,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The handlers' own client, on a new table (TABLE_NAME / DYNAMODB_ENDPOINT set)."""
    monkeypatch.setenv("TABLE_NAME", unique_table_name)
    monkeypatch.setenv("DYNAMODB_ENDPOINT", dynamodb_endpoint)
    tenant_role.cache_clear()
    database.cache_clear()  # the module-level client is made again from this environment
    db = database()
    db.create_table()
    try:
        yield db
    finally:
        db.delete_table(wait=False)
        db.close()
        database.cache_clear()
