"""The exported CloudFormation / SAM template round-trips to the CreateTable parameters."""

from __future__ import annotations

import pytest

from dyntable import GSI, Table
from dyntable._internal.operations.tables import create_table_params, ttl_params
from dyntable.migrations.export import SAM_TRANSFORM, create_params_of, template, to_yaml
from tests.models import shop

yaml = pytest.importorskip("yaml")

PROVISIONED = Table(
    "orders-prov", gsis=[GSI("ByDay", pk="day", sk="n", projection=["a", "b"], read_capacity=7)],
    billing_mode="PROVISIONED", read_capacity=3, write_capacity=4,
    table_class="STANDARD_INFREQUENT_ACCESS", deletion_protection=True, tags={"team": "x"},
    attribute_types={"n": "N"},
)


@pytest.mark.parametrize("table", [shop, PROVISIONED], ids=["shop", "provisioned"])
@pytest.mark.parametrize("sam", [False, True], ids=["cloudformation", "sam"])
def test_template_round_trips(table: Table, sam: bool) -> None:
    doc = yaml.safe_load(to_yaml(template(table, sam=sam)))
    assert (doc.get("Transform") == SAM_TRANSFORM) is sam
    (resource,) = doc["Resources"].values()
    assert resource["Type"] == "AWS::DynamoDB::Table"
    params, ttl = create_params_of(resource)
    assert params == create_table_params(table)
    expected_ttl = ttl_params(table)
    assert ttl == (expected_ttl["TimeToLiveSpecification"] if expected_ttl else None)


def test_cloudformation_property_names() -> None:
    props = template(shop)["Resources"]["ShopTable"]["Properties"]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires_at"}
    assert [g["IndexName"] for g in props["GlobalSecondaryIndexes"]] == ["GSI1", "GSI2"]
    assert props["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "ALL"}
    assert template(shop, table_name="prod-shop")["Resources"]["ShopTable"]["Properties"][
        "TableName"] == "prod-shop"
