"""create_table / describe_table / delete_table against DynamoDB Local."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dyntable.client import Client
from dyntable.errors import TableNotFoundError

pytestmark = pytest.mark.integration


@pytest.mark.with_stream
def test_create_table_from_the_declaration(db: Client) -> None:
    desc = db.describe_table()
    assert desc["TableStatus"] == "ACTIVE"
    assert {(k["AttributeName"], k["KeyType"]) for k in desc["KeySchema"]} == {
        ("PK", "HASH"), ("SK", "RANGE")}
    gsis = {g["IndexName"]: g for g in desc["GlobalSecondaryIndexes"]}
    assert set(gsis) == {"GSI1", "GSI2"}
    assert all(g["IndexStatus"] == "ACTIVE" for g in gsis.values())
    assert gsis["GSI1"]["Projection"] == {"ProjectionType": "ALL"}
    assert gsis["GSI2"]["Projection"]["ProjectionType"] == "INCLUDE"
    assert set(gsis["GSI2"]["Projection"]["NonKeyAttributes"]) == {"status", "total", "_entity"}
    lsis = {i["IndexName"]: i for i in desc["LocalSecondaryIndexes"]}
    assert [k["AttributeName"] for k in lsis["LSI1"]["KeySchema"]] == ["PK", "LSI1SK"]
    assert desc["StreamSpecification"] == {"StreamEnabled": True,
                                           "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = db.send("DescribeTimeToLive", {"TableName": db.table_name})["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    assert ttl["AttributeName"] == "expires_at"


def test_delete_table(make_client: Callable[..., Client]) -> None:
    db = make_client()
    assert db.table_exists()
    db.delete_table()
    assert not db.table_exists()
    with pytest.raises(TableNotFoundError):
        db.describe_table()
    db.create_table()  # the fixture deletes it again
