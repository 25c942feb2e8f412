"""Error messages from DynamoDB Local that lead to the fix."""

from __future__ import annotations

import pytest

from dyntable.errors import TableNotFoundError
from tests.models import Customer, shop

pytestmark = pytest.mark.integration


def test_a_missing_table_says_how_to_create_it(dynamodb_endpoint: str,
                                               unique_table_name: str) -> None:
    db = shop.connect(endpoint_url=dynamodb_endpoint, table_name=unique_table_name)
    try:
        with pytest.raises(TableNotFoundError) as caught:
            db.get(Customer, username="ada")
    finally:
        db.close()
    text = str(caught.value)
    assert f"table {unique_table_name!r} does not exist yet" in text
    assert "db.create_table()" in text and "dyntable table create" in text
